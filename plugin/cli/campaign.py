"""``envol campaign``: check, show, export and send the launch communication plan."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from plugin import clock
from plugin.campaigns.dispatcher import DispatchReport
from plugin.campaigns.plan import load_plan
from plugin.campaigns.runner import build_dispatcher
from plugin.campaigns.service import (
    calendar,
    due_work,
    opt_out_by_email,
    render_settings,
    status_by_step,
)
from plugin.campaigns.validation import check_plan
from plugin.cli.base import (
    cli_language,
    confirm_irreversible,
    console,
    context,
    err_console,
    irreversible,
    say,
    shown,
)
from plugin.db import transaction
from plugin.errors import EnvolError, ValidationFailed
from plugin.mail.message import Address

_plan_option = click.option(
    "--plan",
    "plan_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Folder with plan.yaml and templates/ (default: seed_content/campaign).",
)
_launch_option = click.option(
    "--launch-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Launch day YYYY-MM-DD (default: the LaunchDate setting). Previews only.",
)


def _launch(value: dt.datetime | None) -> dt.date:
    return value.date() if value is not None else context().runtime.current.launch_date


@click.group("campaign")
def campaign_group() -> None:
    """The launch communication plan: teasers, the CEO's announcement, events, launch day."""


@campaign_group.command("validate")
@_plan_option
@_launch_option
def validate(plan_dir: Path | None, launch_date: dt.datetime | None) -> None:
    """Check the plan against the rules and the roster; exit 1 on any error."""
    ctx = context()
    launch = _launch(launch_date)
    with transaction(ctx.sessions) as session:
        report = check_plan(
            session,
            plan_dir,
            launch_date=launch,
            now=clock.now(),
            settings=render_settings(ctx, launch_date=launch),
            default_from=Address.parse(ctx.settings.mail_from).email,
        )
    language = cli_language()
    for problem in report.problems:
        colour = "red" if problem.severity == "error" else "yellow"
        err_console.print(f"[{colour}]{escape(problem.localized(language))}[/]", soft_wrap=True)
    summary = say(
        "campaign.validate.summary",
        steps=len(report.plan.steps) if report.plan else None,
        launch=str(launch),
        errors=len(report.errors),
        warnings=len(report.warnings),
    )
    if report.errors:
        raise EnvolError(say("campaign.validate.invalid", summary=summary))
    console.print(f"[green]{say('campaign.validate.valid')}[/] ({shown(summary)})")


@campaign_group.command("plan")
@_plan_option
@_launch_option
@click.option("--dry-run", is_flag=True, help="Show the calendar only; change nothing.")
def plan_command(plan_dir: Path | None, launch_date: dt.datetime | None, dry_run: bool) -> None:
    """Print the calendar (date, step, audience size, channel, sender) and plan what is due.

    Without --dry-run, steps that are due get their per-recipient rows, and rows not yet sent
    follow a changed launch date. Nothing is sent: that is `send-due` (or the worker).
    """
    ctx = context()
    launch = _launch(launch_date)
    plan = load_plan(plan_dir)
    with transaction(ctx.sessions) as session:
        entries = calendar(session, plan, launch)
    from babel.dates import format_datetime

    language = cli_language()
    title = say("campaign.plan.title", name=shown(plan.name), launch=shown(launch))
    table = Table(title=title)
    for column in ("date", "when", "step", "audience", "size", "channel", "sender", "state"):
        table.add_column(
            say(f"campaign.column.{column}"),
            justify="right" if column == "size" else "left",
            overflow="fold",
            no_wrap=column in {"step", "when"},
        )
    for entry in entries:
        step = entry.step
        sender = plan.senders.get(step.sender)
        table.add_row(
            format_datetime(entry.local_due, "EEE dd/MM/yy HH:mm", locale=language),
            step.when.label(language),
            shown(step.key),
            f"#{shown(step.post_channel)}" if step.post_channel else shown(step.audience),
            "?" if entry.audience_size is None else _number(entry.audience_size),
            step.channel.value,
            shown(sender.name.get(language)) if sender else say("campaign.sender.manager"),
            say("campaign.state." + entry.state.replace(" ", "_")),
        )
    console.print(table)
    if dry_run or launch_date is not None:
        if launch_date is not None and not dry_run:
            console.print(f"[yellow]{shown(say('campaign.launch_date_previews_only'))}[/]")
        return
    dispatcher = build_dispatcher(ctx, plan=plan)
    report = DispatchReport()
    dispatcher.plan_due(clock.now(), report)
    _print_planning(report)


def _print_planning(report: DispatchReport) -> None:
    if report.blocked:
        raise ValidationFailed(say("campaign.planning.blocked"), report.blocked)
    for key, count in report.materialised.items():
        console.print(say("campaign.planning.planned", step=shown(key), count=_number(count)))
    for key, count in report.replanned.items():
        console.print(say("campaign.planning.replanned", step=shown(key), count=_number(count)))
    for key in report.missed:
        console.print(say("campaign.planning.missed", step=shown(key)))


def _number(value: int) -> str:
    """``1 500`` / ``1,500``: as the operator's language writes numbers."""
    from plugin.typography import number

    return number(value, cli_language())


@campaign_group.command("ics")
@_plan_option
@_launch_option
@click.option(
    "--language",
    type=click.Choice(["fr", "en"]),
    default=None,
    help="Language of the events' titles (default: the DefaultLanguage setting).",
)
def ics(plan_dir: Path | None, launch_date: dt.datetime | None, language: str | None) -> None:
    """Write the calendar as iCalendar to standard output: envol campaign ics > launch.ics"""
    from plugin.campaigns.ics import calendar_ics

    ctx = context()
    launch = _launch(launch_date)
    plan = load_plan(plan_dir)
    with transaction(ctx.sessions) as session:
        entries = calendar(session, plan, launch)
    language = language or ctx.runtime.current.default_language
    sys.stdout.buffer.write(calendar_ics(plan, entries, launch, language))
    sys.stdout.flush()


@campaign_group.command("status")
@_plan_option
def status(plan_dir: Path | None) -> None:
    """Per step: planned, sending, sent, failed, skipped."""
    ctx = context()
    plan = load_plan(plan_dir)
    with transaction(ctx.sessions) as session:
        rows = status_by_step(session, plan)
    table = Table(title=say("campaign.status.title", name=shown(plan.name)))
    columns = ["planned", "sending", "sent", "failed", "skipped"]
    table.add_column(say("campaign.column.step"))
    table.add_column(say("campaign.column.due"))
    for column in columns:
        table.add_column(say(f"campaign.status.{column}"), justify="right")
    for row in rows:
        due = say("campaign.status.to_come")
        if row.due_at is not None:
            due = f"{row.due_at:%Y-%m-%d %H:%M}"
            if row.missed:
                due = say("campaign.status.missed", due=due)
        table.add_row(shown(row.step_key), due, *(_number(row.count(c)) for c in columns))
    console.print(table)


@campaign_group.command("send-due")
@_plan_option
@irreversible
def send_due(plan_dir: Path | None, dry_run: bool, yes: bool) -> None:
    """Plan and send everything that is due now (what the worker does every minute)."""
    ctx = context()
    plan = load_plan(plan_dir)
    now = clock.now()
    with transaction(ctx.sessions) as session:
        work = due_work(session, plan, ctx.runtime.current.launch_date, now)
    for item in work:
        step = shown(item.step_key)
        if item.to_send:
            count = _number(item.to_send)
            console.print(say("campaign.due.send", dry_run=dry_run, step=step, count=count))
        else:
            count = _number(item.to_plan)
            console.print(say("campaign.due.plan", dry_run=dry_run, step=step, count=count))
    if dry_run:
        console.print(f"[yellow]{shown(say('campaign.due.dry_run'))}[/]")
        return
    if not work:
        console.print(shown(say("campaign.due.nothing")))
        return
    confirm_irreversible(say("campaign.confirm_send", count=len(work)), yes=yes)
    sending = TextColumn(shown(say("campaign.sending")))
    with Progress(
        sending, BarColumn(), MofNCompleteColumn(), console=console, transient=True
    ) as progress:
        task = progress.add_task("send", total=None)
        dispatcher = build_dispatcher(
            ctx, plan=plan, on_progress=lambda n: progress.advance(task, n)
        )
        report = dispatcher.run(now)
    _print_planning(report)
    sent = say(
        "campaign.sent",
        sent=_number(report.sent),
        retried=_number(report.retried),
        failed=_number(report.failed),
        skipped=_number(report.skipped),
        recovered=_number(report.recovered) if report.recovered else None,
    )
    console.print(shown(sent))


@campaign_group.command("opt-out")
@click.argument("email")
def opt_out(email: str) -> None:
    """Stop the optional messages to EMAIL (an answer to List-Unsubscribe)."""
    with transaction(context().sessions) as session:
        added = opt_out_by_email(session, email, actor="cli")
    console.print(shown(say("campaign.opted_out", added=added)))


def _actor() -> str:
    from plugin.cli.people import _actor as cli_actor

    return cli_actor()


@campaign_group.command("approve")
@click.argument("step")
@click.option("--note", default="", help="Recorded in the audit trail.")
@_plan_option
def approve(step: str, note: str, plan_dir: Path | None) -> None:
    """Sign STEP off (and release it if it was held)."""
    from plugin.campaigns.decisions import approve_step

    with transaction(context().sessions) as session:
        changed = approve_step(session, load_plan(plan_dir), step, actor=_actor(), note=note)
    text = say("campaign.approved", step=shown(step), changed=changed)
    console.print(f"[green]{text}[/]" if changed else text)


@campaign_group.command("hold")
@click.argument("step")
@click.option("--reason", required=True, help="Why it must not go out (audit trail).")
@_plan_option
def hold(step: str, reason: str, plan_dir: Path | None) -> None:
    """Keep STEP from going out until it is approved."""
    from plugin.campaigns.decisions import hold_step

    with transaction(context().sessions) as session:
        changed = hold_step(session, load_plan(plan_dir), step, actor=_actor(), reason=reason)
    text = say("campaign.held", step=shown(step), changed=changed)
    console.print(f"[yellow]{text}[/]" if changed else text)


@campaign_group.command("send-test")
@click.argument("step")
@click.option("--to", "username", required=True, help="Mattermost username who gets the test.")
@click.option(
    "--lang", "language", type=click.Choice(["fr", "en"]), default="fr", show_default=True
)
@_plan_option
def send_test(step: str, username: str, language: str, plan_dir: Path | None) -> None:
    """Send one test copy of STEP, marked [TEST], to USERNAME only (e-mail or DM)."""
    from plugin.campaigns.platform import MattermostPlatformSender
    from plugin.campaigns.proof import ProofTarget, send_proof
    from plugin.mail.config import SmtpConfig
    from plugin.mail.sender import SmtpMailer
    from plugin.mattermost import MattermostClient

    ctx = context()
    runtime = ctx.runtime.current
    with MattermostClient.from_settings(ctx.settings) as client:
        user = client.get_user_by_username(username.lstrip("@"))
        target = ProofTarget(
            username=str(user["username"]),
            user_id=str(user["id"]),
            email=str(user.get("email") or ""),
            display_name=" ".join(
                part for part in (user.get("first_name"), user.get("last_name")) if part
            )
            or str(user["username"]),
        )
        with (
            SmtpMailer(SmtpConfig.from_url(ctx.settings.smtp_url)) as mailer,
            transaction(ctx.sessions) as session,
        ):
            how = send_proof(
                session,
                load_plan(plan_dir),
                step,
                language=language,
                target=target,
                settings=render_settings(ctx, runtime),
                mail_from=Address.parse(ctx.settings.mail_from),
                mailer=mailer,
                platform=MattermostPlatformSender(client, runtime.team_name),
                actor=_actor(),
            )
    sent = say(
        "campaign.test_sent",
        step=step,
        language=language,
        username=target.username,
        email=how == "email",
    )
    console.print(shown(sent))


def register(root: click.Group) -> None:
    root.add_command(campaign_group)
