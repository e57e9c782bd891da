"""``envol seed``: validate, plan, apply and export the content of ``seed_content/``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from plugin.cli.base import (
    cli_language,
    confirm_irreversible,
    console,
    context,
    irreversible,
    say,
    shown,
)
from plugin.errors import EnvolError, localize
from plugin.seeding.loader import default_content_dir

if TYPE_CHECKING:
    from plugin.mattermost import MattermostClient
    from plugin.seeding.desired import DesiredState
    from plugin.seeding.plan import Plan

_SYMBOLS = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "repair": ("↺", "cyan"),
    "drifted": ("!", "red"),
    "skipped": ("-", "dim"),
    "orphaned": ("?", "magenta"),
    "unchanged": ("=", "dim"),
}

content_option = click.option(
    "--content",
    "content_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Content folder (default: the project's seed_content/).",
)


def print_plan(out: Console, plan: Plan, *, verbose: bool = False) -> None:
    """Print a plan like an infrastructure plan: one line per change, diffs indented; in the
    operator's language (the plan's reasons and notices are ``Phrase``s)."""
    from plugin.seeding.wording import said

    language = cli_language()
    actions = {action: said(f"action.{action}").localized(language) for action in _SYMBOLS}
    width = max(len(word) for word in actions.values())
    for change in plan.changes:
        if change.action == "unchanged" and not verbose:
            continue
        symbol, colour = _SYMBOLS[change.action]
        action = actions[change.action].ljust(width)
        line = f"[{colour}]{symbol} {shown(action)}[/] {shown(localize(change.label, language))}"
        if change.reason and change.action not in ("skipped",):
            line += f" [dim]— {shown(localize(change.reason, language))}[/]"
        out.print(line)
        for diff_line in (localize(text, language) for text in change.diff):
            style = (
                "red"
                if diff_line.lstrip().startswith("-")
                else ("green" if diff_line.lstrip().startswith("+") else "dim")
            )
            out.print(f"      [{style}]{shown(diff_line)}[/]", markup=True, highlight=False)
    for notice in plan.notices:
        out.print(f"[yellow]{shown(say('seed.note'))}[/] {shown(localize(notice, language))}")
    for blocker in plan.blockers:
        refused = f"[red]✗ {shown(say('seed.refused'))}[/]"
        out.print(f"{refused} {shown(localize(blocker, language))}", soft_wrap=True)
    out.print(f"[bold]{shown(say('seed.plan'))}[/] {shown(plan.summary(language))}.")


def _desired(content_dir: Path | None) -> DesiredState:
    from plugin.seeding.service import require_desired

    ctx = context()
    return require_desired(
        content_dir or default_content_dir(), ctx.runtime.current, ctx.settings.mattermost_url
    )


def _client() -> MattermostClient:
    from plugin.mattermost import MattermostClient

    return MattermostClient.from_settings(context().settings)


@click.group("seed")
def seed_group() -> None:
    """Seed Mattermost with the launch content: spaces, guides, first discussions."""


@seed_group.command("validate")
@content_option
def validate(content_dir: Path | None) -> None:
    """Check every file (both languages); list every problem with its file and line."""
    from plugin.seeding.desired import validate_content

    ctx = context()
    root = content_dir or default_content_dir()
    content, problems = validate_content(root, ctx.runtime.current, ctx.settings.mattermost_url)
    if problems:
        language = cli_language()
        for problem in problems:
            console.print(f"[red]✗[/] {escape(problem.localized(language))}", soft_wrap=True)
        raise EnvolError(say("seed.validate.invalid", n=len(problems), root=str(root)))
    assert content is not None
    replies = sum(len(p.front.replies) for p in content.posts)
    valid = say(
        "seed.valid",
        root=str(root),
        teams=len(content.spaces.teams),
        channels=len(content.spaces.channels),
        posts=len(content.posts),
        replies=replies,
    )
    console.print(f"[green]✓[/] {shown(valid)}")


@seed_group.command("plan")
@content_option
@click.option("--repair", is_flag=True, help="Plan to restore what drifted in Mattermost.")
@click.option("-v", "--verbose", is_flag=True, help="List unchanged objects too.")
def plan_command(content_dir: Path | None, repair: bool, verbose: bool) -> None:
    """Show what `envol seed apply` would create, update, or report as drift (reads only)."""
    from plugin.seeding.engine import make_plan

    desired = _desired(content_dir)
    ctx = context()
    with _client() as client, ctx.sessions() as session:
        console.print(f"[dim]{shown(say('seed.comparing', url=client.url))}[/]")
        print_plan(console, make_plan(client, session, desired, repair=repair), verbose=verbose)


@seed_group.command("apply")
@content_option
@click.option("--repair", is_flag=True, help="Restore what was deleted or edited in Mattermost.")
@irreversible
@click.option(
    "--secrets",
    "secrets_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="YAML file with committee members' personal access tokens (never commit it).",
)
def apply_command(
    content_dir: Path | None, repair: bool, dry_run: bool, yes: bool, secrets_file: Path | None
) -> None:
    """Make Mattermost match the content, exactly as the plan says."""
    from plugin.security.service import Signer
    from plugin.seeding.engine import apply_plan, make_plan
    from plugin.seeding.service import member_clients, read_secrets

    desired = _desired(content_dir)
    ctx = context()
    with _client() as client, ctx.sessions() as session:
        console.print(f"[dim]{shown(say('seed.comparing', url=client.url))}[/]")
        plan = make_plan(client, session, desired, repair=repair)
        print_plan(console, plan)
        if dry_run:
            console.print(f"[dim]{shown(say('seed.dry_run'))}[/]")
            return
        if plan.blockers:
            raise EnvolError(say("seed.blocked", n=len(plan.blockers)))
        if plan.nothing_to_do:
            console.print(f"[green]{shown(say('seed.already_matches'))}[/]")
            return
        confirm_irreversible(say("seed.confirm", count=len(plan.to_apply)), yes=yes)
        members = {}
        if secrets_file is not None:
            members = member_clients(desired, read_secrets(secrets_file), client.url)
        language = cli_language()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task(say("seed.applying"), total=len(plan.to_apply))
            result = apply_plan(
                client,
                session,
                desired,
                plan,
                signer=Signer(ctx.settings.secret_key.get_secret_value()),
                public_url=ctx.settings.public_url,
                member_clients=members,
                on_step=lambda change: progress.update(
                    task, advance=1, description=localize(change.label, language)[:50]
                ),
            )
        for notice in result.notices:
            if notice not in plan.notices:
                note = localize(notice, language)
                console.print(f"[yellow]{shown(say('seed.note'))}[/] {shown(note)}")
        done = say(
            "seed.done",
            created=result.created,
            updated=result.updated,
            repaired=result.repaired,
            adopted=result.adopted,
        )
        console.print(f"[green]✓[/] {shown(done)}")
        if plan.drifted:
            console.print(f"[red]{shown(say('seed.drifted', n=len(plan.drifted)))}[/]")


@seed_group.command("export")
@content_option
@click.option(
    "--format",
    "export_format",
    type=click.Choice(["mattermost-import"]),
    required=True,
    help="Output format.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("envol-import/import.jsonl"),
    show_default=True,
    help="JSONL file to write; attached files are copied to data/ beside it.",
)
def export_command(content_dir: Path | None, export_format: str, output: Path) -> None:
    """Write the content as a Mattermost bulk-import file, for `mmctl import`."""
    from plugin.security.service import Signer
    from plugin.seeding.export import write_bulk_import

    desired = _desired(content_dir)
    ctx = context()
    runtime = ctx.runtime.current
    lines, files = write_bulk_import(
        desired,
        output,
        bot_username=runtime.bot_username,
        launch_date=runtime.launch_date,
        signer=Signer(ctx.settings.secret_key.get_secret_value()),
        public_url=ctx.settings.public_url,
    )
    wrote = say(
        "seed.export.wrote",
        output=str(output),
        lines=lines,
        files=files,
        data=str(output.parent / "data"),
    )
    console.print(shown(wrote))
    then = say("seed.export.then", folder=str(output.parent), name=output.name)
    console.print(f"[dim]{shown(then)}[/]")


def register(root: click.Group) -> None:
    root.add_command(seed_group)
