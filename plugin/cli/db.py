"""``envol db``: migrations."""

from __future__ import annotations

import click

from plugin import db as database
from plugin.cli.base import console, context, say, shown
from plugin.errors import EnvolError


@click.group("db")
def db_group() -> None:
    """Create and migrate Envol's database."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    url = context().settings.database_url
    database.upgrade(url, revision)
    console.print(say("db.at", revision=shown(database.current_revision(url))))


@db_group.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (e.g. -1, or base)."""
    url = context().settings.database_url
    database.downgrade(url, revision)
    console.print(say("db.at", revision=shown(database.current_revision(url) or "base")))


@db_group.command("check")
def check() -> None:
    """Fail when the database and the models differ (pending migration or drift)."""
    from plugin.models import metadata  # every capability's models

    problems = database.schema_drift(context().settings.database_url, metadata)
    if problems:
        raise EnvolError(say("db.drift", problems="; ".join(problems)))
    console.print(say("db.matches"))


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does, e.g. 'people'.")
def revision(message: str) -> None:
    """(Developers) Write a new migration from the difference between models and database."""
    from alembic import command

    url = context().settings.database_url
    command.revision(database.alembic_config(url), message=message, autogenerate=True)


def register(root: click.Group) -> None:
    root.add_command(db_group)
