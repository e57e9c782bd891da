"""``envol invitations status|retry-failed|opt-out`` and ``envol onboarding run-once``."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import click
from rich.table import Table

from plugin.cli.base import (
    cli_language,
    confirm_irreversible,
    console,
    context,
    irreversible,
    say,
    shown,
)
from plugin.db import transaction

if TYPE_CHECKING:
    from plugin.invitations.strategies import DurationEstimate


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in some containers
        return "cli"


@click.group("invitations")
def invitations_group() -> None:
    """Follow and repair the invitations of the waves."""


@invitations_group.command("status")
@click.option("--wave", "wave_name", default=None, help="Only this wave (by name).")
def status(wave_name: str | None) -> None:
    """The funnel: planned, sent, reminded, joined, activated, profile complete, failed."""
    from plugin.invitations.failure_reasons import worded_failure
    from plugin.invitations.service import overdue_leases
    from plugin.onboarding.funnel import funnel
    from plugin.typography import percent

    ctx = context()
    with ctx.sessions() as session:
        result = funnel(session, ctx.runtime.current, wave_name)
        stuck = overdue_leases(session)
    table = Table(title=say("invitations.status.title", wave=shown(wave_name or "")))
    table.add_column(say("invitations.status.column_step"))
    table.add_column(say("invitations.status.column_people"), justify="right")
    table.add_column(say("invitations.status.column_share"), justify="right")
    language = cli_language()
    for step, count in (
        ("planned", result.planned),
        ("sent", result.sent),
        ("reminded", result.reminded),
        ("joined", result.joined),
        ("activated", result.activated),
        ("profile_complete", result.profile_complete),
    ):
        share = percent(count / result.planned, language) if result.planned else "–"
        table.add_row(say(f"invitations.status.{step}"), str(count), share)
    console.print(table)
    counts = say(
        "invitations.status.counts",
        waiting=result.waiting_to_send,
        expired=result.expired,
        opted_out=result.opted_out,
        failed=result.failed,
    )
    console.print(shown(counts))
    if result.by_strategy:
        strategies = ", ".join(f"{k} {v}" for k, v in sorted(result.by_strategy.items()))
        console.print(shown(say("invitations.status.by_strategy", strategies=strategies)))
    if result.failures:
        failures = Table(title=say("invitations.status.failures_title"))
        failures.add_column(say("invitations.status.column_reason"))
        failures.add_column(say("invitations.status.column_people"), justify="right")
        for reason, count in result.failures:
            failures.add_row(shown(worded_failure(reason, language)), str(count))
        console.print(failures)
        console.print(shown(say("invitations.status.fix_then_retry")))
    if result.uncertain:
        console.print(say("invitations.status.uncertain", count=result.uncertain))
    if stuck:
        console.print(say("invitations.status.stuck", count=stuck))
    if result.estimate is not None and result.waiting_to_send:
        colour = "yellow" if result.estimate.too_slow else "green"
        console.print(f"[{colour}]{shown(_estimate(result.estimate, language))}[/]")


def _estimate(estimate: DurationEstimate, language: str) -> str:
    """How long the invitations still to send take, in the operator's language."""
    from plugin.invitations.strategies import MATTERMOST_INVITES_PER_HOUR
    from plugin.typography import number

    seconds = estimate.duration.total_seconds()
    return say(
        "invitations.status.estimate",
        people=estimate.people,
        strategy=estimate.strategy.value,
        hours=number(round(seconds / 3600, 1), language) if seconds >= 600 else None,
        seconds=f"{seconds:.0f}",
        too_slow=estimate.too_slow,
        per_hour=MATTERMOST_INVITES_PER_HOUR,
    )


@invitations_group.command("retry-failed")
@click.option("--wave", "wave_name", default=None, help="Only this wave (by name).")
@irreversible
def retry_failed_command(wave_name: str | None, dry_run: bool, yes: bool) -> None:
    """Put failed invitations back in the queue (after fixing the cause of the failure)."""
    from plugin.invitations.service import retry_failed

    ctx = context()
    with transaction(ctx.sessions) as session:
        plan = retry_failed(session, actor=_actor(), wave_name=wave_name, dry_run=True)
    if not plan.invitation_ids:
        console.print(shown(say("invitations.no_failed")))
        return
    for reason, count in sorted(plan.reasons.items(), key=lambda item: -item[1]):
        console.print(f"  {count:>6}  {shown(reason)}")
    if not dry_run:
        confirm_irreversible(
            say("invitations.confirm_retry", count=len(plan.invitation_ids)), yes=yes
        )
        with transaction(ctx.sessions) as session:
            plan = retry_failed(session, actor=_actor(), wave_name=wave_name)
    retrying = say("invitations.retrying", dry_run=dry_run, count=len(plan.invitation_ids))
    console.print(shown(retrying))


@invitations_group.command("opt-out")
@click.argument("email")
@click.option("--reason", default="", help="Why (kept in the audit trail).")
def opt_out_command(email: str, reason: str) -> None:
    """Stop inviting and reminding EMAIL."""
    from plugin.invitations.service import opt_out

    with transaction(context().sessions) as session:
        changed = opt_out(session, email, actor=_actor(), reason=reason)
    console.print(shown(say("invitations.opted_out", count=changed)))


@click.group("onboarding")
def onboarding_group() -> None:
    """Welcome newcomers and follow their profiles."""


@onboarding_group.command("run-once")
@click.option("--no-digest", is_flag=True, help="Skip the managers' weekly digest.")
@click.option("--dry-run", is_flag=True, help="Show what the cycle would do; send nothing.")
def run_once_command(no_digest: bool, dry_run: bool) -> None:
    """Run one dispatcher cycle by hand: send, detect arrivals, welcome, nudge, digest."""
    from plugin.invitations.environment import build_environment
    from plugin.onboarding.cycle import run_once

    if dry_run:
        _print_cycle_plan(digests=not no_digest)
        return
    env = build_environment(context())
    with console.status(shown(say("onboarding.running"))):
        report = run_once(env, digests=not no_digest)
    d = report.dispatch
    invitations = say(
        "onboarding.invitations",
        emailed=d.emailed,
        invited=d.mattermost_invited,
        existing=d.added_existing,
        sso=d.awaiting_sso,
        reminded=d.reminded,
        expired=d.expired,
        failed=d.failed,
        deferred=d.deferred,
    )
    console.print(shown(invitations))
    arrivals = say(
        "onboarding.arrivals",
        joined=report.detection.joined,
        activated=report.activated,
        welcomed=report.welcomed,
        nudged=report.nudged,
    )
    console.print(shown(arrivals))
    if report.digests is not None:
        digest = say("onboarding.digest", week=report.digests.week, sent=report.digests.sent)
        console.print(shown(digest))
    errors = d.errors + [e for a in report.arrivals for e in a.errors]
    for error in errors[:5]:
        console.print(f"[yellow]  {shown(error)}[/]")


def _print_cycle_plan(*, digests: bool) -> None:
    """What ``run-once`` would do now, read from the database only."""
    from plugin.onboarding.funnel import funnel

    ctx = context()
    with ctx.sessions() as session:
        result = funnel(session, ctx.runtime.current)
    would = say("onboarding.would_do", waiting=result.waiting_to_send, digests=digests)
    console.print(shown(would))
    console.print(f"[yellow]{shown(say('onboarding.dry_run'))}[/]")


def register(root: click.Group) -> None:
    root.add_command(invitations_group)
    root.add_command(onboarding_group)
