"""``envol commands install``, ``envol survey post|results``, ``envol support list|faq-check``."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from plugin.cli.base import cli_language, console, context, say, shown
from plugin.db import transaction
from plugin.errors import EnvolError


def _client() -> Any:
    from plugin.mattermost import MattermostClient

    return MattermostClient.from_settings(context().settings)


# --------------------------------------------------------------------------- commands


@click.group("commands")
def commands_group() -> None:
    """Envol's slash commands on Mattermost."""


@commands_group.command("install")
@click.option(
    "--trigger",
    "triggers",
    multiple=True,
    metavar="WORD",
    help="Trigger words (repeatable); default: envol and its French alias aide.",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
def install(triggers: tuple[str, ...], dry_run: bool) -> None:
    """Register the slash commands on the team (idempotent) and store their tokens."""
    from plugin.slash_registration.service import install_commands, trigger_specs
    from webhooks.commands.registry import autocomplete_hint

    ctx = context()
    runtime = ctx.runtime.current
    specs = trigger_specs(triggers, autocomplete_hint())
    client = _client()
    team = client.get_team_by_name(runtime.team_name)
    with transaction(ctx.sessions) as session:
        outcomes = install_commands(
            session,
            client,
            team_id=team["id"],
            specs=specs,
            url=f"{ctx.settings.public_url}/commands",
            username=runtime.bot_username,
            dry_run=dry_run,
        )
    for outcome in outcomes:
        action = say("commands.outcome." + outcome.action.replace(" ", "_"))
        console.print(shown(say("count_line", what=f"/{outcome.trigger}", count=action)))
    if dry_run:
        console.print(f"[yellow]{shown(say('commands.dry_run'))}[/]")


# --------------------------------------------------------------------------- surveys


@click.group("survey")
def survey_group() -> None:
    """Polls and the launch survey."""


@survey_group.command("post")
@click.option(
    "--key", required=True, help="Stable poll key (lowercase, dashes); reposting reuses it."
)
@click.option("--question", required=True)
@click.option(
    "--option", "options", multiple=True, required=True, help="An answer (repeat, 2 to 8)."
)
@click.option("--channel", required=True, help="Channel name (URL name) in the team.")
@click.option("--language", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@click.option("--dry-run", is_flag=True, help="Validate and show the poll; post nothing.")
def post(
    key: str, question: str, options: tuple[str, ...], channel: str, language: str, dry_run: bool
) -> None:
    """Post a poll with one button per option; votes update the post."""
    from plugin.security.service import Signer
    from plugin.surveys import service

    key, question, cleaned = service.validate_poll(key, question, options)
    if dry_run:
        options_line = " / ".join(shown(option) for option in cleaned)
        console.print(
            say("survey.poll_dry_run", key=shown(repr(key)), question=shown(question),
                options=options_line)
        )  # fmt: skip
        return
    ctx = context()
    signer = Signer(ctx.settings.secret_key.get_secret_value())
    with transaction(ctx.sessions) as session:
        post_id = service.post_poll_in_channel(
            session,
            _client(),
            signer,
            ctx.settings.public_url,
            team_name=ctx.runtime.current.team_name,
            channel_name=channel,
            key=key,
            question=question,
            options=cleaned,
            language=language,
            created_by="cli",
        )
    console.print(shown(say("survey.poll_posted", key=repr(key), channel=channel, post=post_id)))


@survey_group.command("results")
@click.option("--wave", "wave_name", default=None, help="Only the answers given for this wave.")
@click.option("--poll", "poll_key", default=None, help="Show a poll's tally instead.")
def results(wave_name: str | None, poll_key: str | None) -> None:
    """Launch survey results per cohort (or a poll's tally)."""
    from plugin.surveys import service

    with context().sessions() as session:
        if poll_key:
            poll = service.poll_results(session, poll_key)
        else:
            found = service.survey_results(session, wave_name)
    if poll_key:
        table = Table(title=shown(poll.question))
        table.add_column(say("survey.column.option"))
        table.add_column(say("survey.column.votes"), justify="right")
        for option, votes in poll.votes:
            table.add_row(shown(option), str(votes))
        console.print(table)
        return
    language = cli_language()
    table = Table(title=say("survey.results_title"))
    for column in ("cohort", "answers", *service.QUESTIONS, "score"):
        table.add_column(
            say(f"survey.column.{column}"), justify="left" if column == "cohort" else "right"
        )
    for row in found.cohorts:
        means = [_mean(row.means[q], language) if row.means else "–" for q in service.QUESTIONS]
        table.add_row(
            shown(row.cohort_name),
            f"{row.respondents}/{row.members}",
            *means,
            _mean(row.score, language) if row.score is not None else "–",
        )
    console.print(table)
    if wave_name:
        score = found.wave_score
        wave_score = say("survey.wave_score", score=None if score is None else str(score))
        console.print(shown(wave_score))


def _mean(value: float, language: str) -> str:
    """``3,75`` / ``3.75``."""
    from babel.numbers import format_decimal

    return format_decimal(value, format="0.00", locale=language)


# --------------------------------------------------------------------------- support


@click.group("support")
def support_group() -> None:
    """The support space: requests and FAQ."""


@support_group.command("list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["suggested", "self_served", "open", "taken", "answered", "resolved"]),
)
@click.option("--limit", default=50, show_default=True, type=int)
def list_tickets(statuses: tuple[str, ...], limit: int) -> None:
    """The latest support requests (no descriptions: they may be personal)."""
    from plugin.support import service
    from plugin.support.models import TicketStatus

    with context().sessions() as session:
        tickets = service.list_tickets(
            session, status=[TicketStatus(s) for s in statuses], limit=limit
        )
    table = Table(title=say("support.title"))
    table.add_column("#")
    for column in ("category", "status", "created", "answered", "votes"):
        table.add_column(say(f"support.column.{column}"))
    for ticket in tickets:
        table.add_row(
            str(ticket.id),
            say(f"support.category.{ticket.category.value}"),
            say(f"support.status.{ticket.status.value}"),
            ticket.created_at.strftime("%Y-%m-%d %H:%M"),
            ticket.answered_at.strftime("%Y-%m-%d %H:%M") if ticket.answered_at else "",
            str(ticket.vote_count) if ticket.category.value == "idea" else "",
        )
    console.print(table)


@support_group.command("faq-check")
def faq_check() -> None:
    """Validate the FAQ files under seed_content/faq/ (both languages)."""
    from plugin.support.faq import FAQ_DIR, read_faq

    entries, problems = read_faq(FAQ_DIR)
    language = cli_language()
    for problem in problems:
        colour = "red" if problem.severity == "error" else "yellow"
        console.print(f"[{colour}]{escape(problem.localized(language))}[/]", soft_wrap=True)
    if problems:
        raise EnvolError(say("faq.invalid", n=len(problems), folder=str(FAQ_DIR)))
    console.print(say("faq.ok", count=len(entries), folder=shown(FAQ_DIR)))


def register(root: click.Group) -> None:
    root.add_command(commands_group)
    root.add_command(survey_group)
    root.add_command(support_group)
