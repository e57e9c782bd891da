"""``envol invitations status|retry-failed|opt-out`` and ``envol onboarding run-once``."""

from __future__ import annotations

import getpass

import click
from rich.table import Table

from plugin.cli.base import confirm_irreversible, console, context, irreversible, say, shown
from plugin.db import transaction


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
    from plugin.invitations.service import overdue_leases
    from plugin.onboarding.funnel import funnel

    ctx = context()
    with ctx.sessions() as session:
        result = funnel(session, ctx.runtime.current, wave_name)
        stuck = overdue_leases(session)
    title = f"Invitations — wave {shown(wave_name)}" if wave_name else "Invitations — every wave"
    table = Table(title=title)
    table.add_column("step")
    table.add_column("people", justify="right")
    table.add_column("% of planned", justify="right")
    for label, count in (
        ("planned", result.planned),
        ("sent", result.sent),
        ("reminded", result.reminded),
        ("joined", result.joined),
        ("activated", result.activated),
        ("profile complete", result.profile_complete),
    ):
        share = f"{100 * count / result.planned:.0f} %" if result.planned else "–"
        table.add_row(label, str(count), share)
    console.print(table)
    console.print(
        f"still to send: {result.waiting_to_send} · expired: {result.expired} · "
        f"opted out: {result.opted_out} · failed: {result.failed}"
    )
    if result.by_strategy:
        console.print(
            "by strategy: "
            + ", ".join(f"{shown(k)} {shown(v)}" for k, v in sorted(result.by_strategy.items()))
        )
    if result.failures:
        failures = Table(title="Failures, by reason")
        failures.add_column("reason")
        failures.add_column("people", justify="right")
        for reason, count in result.failures:
            failures.add_row(shown(reason), str(count))
        console.print(failures)
        console.print("fix the cause, then run `envol invitations retry-failed`.")
    if result.uncertain:
        console.print(
            f"[yellow]{result.uncertain} Mattermost invitation(s) uncertain[/]: Mattermost's "
            "answer was lost and it cannot be asked whether it sent them; they are never sent "
            "twice, and the next reminder reaches the person."
        )
    if stuck:
        console.print(
            f"[yellow]{stuck} invitation(s) held by a worker that stopped[/]; "
            "they are taken over automatically when the lease ends."
        )
    if result.estimate is not None and result.waiting_to_send:
        colour = "yellow" if result.estimate.too_slow else "green"
        console.print(f"[{colour}]{shown(result.estimate.describe())}[/]")


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
    console.print(f"{changed} invitation(s) stopped.")


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
    with console.status("running one cycle…"):
        report = run_once(env, digests=not no_digest)
    d = report.dispatch
    console.print(
        f"invitations: {d.emailed} e-mailed, {d.mattermost_invited} invited by Mattermost, "
        f"{d.added_existing} existing users added, {d.awaiting_sso} waiting for SSO, "
        f"{d.reminded} reminded, {d.expired} expired, {d.failed} failed, {d.deferred} deferred"
    )
    console.print(
        f"arrivals: {report.detection.joined} detected, {report.activated} activated, "
        f"{report.welcomed} welcomed; profiles: {report.nudged} nudged"
    )
    if report.digests is not None:
        console.print(f"managers' digest ({report.digests.week}): {report.digests.sent} sent")
    errors = d.errors + [e for a in report.arrivals for e in a.errors]
    for error in errors[:5]:
        console.print(f"[yellow]  {shown(error)}[/]")


def _print_cycle_plan(*, digests: bool) -> None:
    """What ``run-once`` would do now, read from the database only."""
    from plugin.onboarding.funnel import funnel

    ctx = context()
    with ctx.sessions() as session:
        result = funnel(session, ctx.runtime.current)
    console.print(
        f"would send the invitations due now (at most {result.waiting_to_send} waiting), "
        "then detect who joined Mattermost, welcome them and nudge incomplete profiles"
        + (", then send the managers' weekly digest if it is due" if digests else "")
    )
    console.print("[yellow]dry run: nothing sent, nothing written[/]")


def register(root: click.Group) -> None:
    root.add_command(invitations_group)
    root.add_command(onboarding_group)
