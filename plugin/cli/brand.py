"""``envol brand apply``: the company's name, logo, texts and colours in Mattermost."""

from __future__ import annotations

from pathlib import Path

import click

from plugin.branding.views import print_brand_report
from plugin.cli.base import (
    cli_language,
    confirm_irreversible,
    console,
    context,
    irreversible,
    say,
    shown,
)
from plugin.seeding.loader import default_content_dir


@click.group("brand")
def brand_group() -> None:
    """The platform's look: site name, brand text and image, team, colour theme."""


@brand_group.command("apply")
@click.option(
    "--content",
    "content_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Content folder (default: the project's seed_content/).",
)
@irreversible
def apply_command(content_dir: Path | None, dry_run: bool, yes: bool) -> None:
    """Apply branding.yaml: idempotent, never overwrites a member's own theme."""
    from plugin.branding.service import apply_branding
    from plugin.mattermost import MattermostClient
    from plugin.seeding.service import require_desired

    ctx = context()
    desired = require_desired(
        content_dir or default_content_dir(), ctx.runtime.current, ctx.settings.mattermost_url
    )
    assert desired.branding is not None  # branding.yaml is required by validation
    with MattermostClient.from_settings(ctx.settings) as client, ctx.sessions() as session:
        preview = apply_branding(client, session, desired.branding, dry_run=True)
        language = cli_language()
        print_brand_report(console, preview, language=language)
        if dry_run:
            console.print(f"[dim]{shown(say('dry_run_nothing_written'))}[/]")
            return
        confirm_irreversible(say("brand.confirm"), yes=yes)
        report = apply_branding(client, session, desired.branding, dry_run=False)
    print_brand_report(console, report, language=language)


def register(root: click.Group) -> None:
    root.add_command(brand_group)
