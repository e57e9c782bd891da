"""``envol roster``, ``envol people``, ``envol cohorts``, ``envol waves``, ``envol waitlist``."""

from __future__ import annotations

import getpass
import re
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from plugin.cli.base import (
    cli_language,
    confirm_irreversible,
    console,
    context,
    irreversible,
    say,
    shown,
    transaction,
)
from plugin.errors import EnvolError, ValidationFailed, localize


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in some containers
        return "cli"


# --------------------------------------------------------------------------- roster


@click.group("roster")
def roster_group() -> None:
    """Import the roster exported by HR."""


def _confirm_leavers(ctx: Any, file: Path, language: Any, sheet: str | None) -> None:
    """Ask before an import that marks people as left (their invitations stop)."""
    from plugin.people.preview import preview_roster

    with transaction(ctx.sessions) as session:
        preview = preview_roster(session, file, default_language=language, sheet=sheet)
    if preview.leaver_count:
        console.print(
            say(
                "roster.leavers",
                name=shown(file.name),
                joining=preview.joiner_count,
                changing=preview.changed_count,
                leaving=preview.leaver_count,
            )
        )
        confirm_irreversible(
            say("roster.confirm_leavers", name=file.name, count=preview.leaver_count), yes=False
        )


@roster_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="Import the valid lines and list the others.")
@click.option(
    "--sheet", default=None, help="The workbook's sheet to read (default: the first one)."
)
@irreversible
def roster_import(
    file: Path, skip_invalid: bool, sheet: str | None, dry_run: bool, yes: bool
) -> None:
    """Import FILE (CSV: UTF-8, UTF-16 or Windows-1252, ',' or ';'; or an Excel .xlsx); upsert
    by e-mail.

    People missing from the new roster are marked as left, never deleted; when there are any,
    the import says how many and asks first (--yes for scripts).
    """
    from plugin.people.models import Language
    from plugin.people.service import import_roster

    ctx = context()
    language = Language(ctx.runtime.current.default_language)
    if not dry_run and not yes:
        _confirm_leavers(ctx, file, language, sheet)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, object] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)  # type: ignore[arg-type]

        try:
            with transaction(ctx.sessions) as session:
                report = import_roster(
                    session,
                    file,
                    actor=_actor(),
                    skip_invalid=skip_invalid,
                    dry_run=dry_run,
                    default_language=language,
                    progress=progress,
                    sheet=sheet,
                )
        except ValidationFailed:
            bar.stop()
            raise
    _print_lines(file, report, sheet)
    if report.ignored_columns:
        ignored = shown(", ".join(report.ignored_columns))
        console.print(f"[dim]{say('roster.ignored_columns', columns=ignored)}[/]")
    for problem in report.problems:
        console.print(f"  [yellow]{say('roster.skipped')}[/] {_problem(problem)}")
    table = Table(title=say("roster.title", dry_run=dry_run), title_justify="left")
    table.add_column(say("roster.column_what"))
    table.add_column(say("roster.column_people"), justify="right")
    for label, value in (
        (say("roster.created", dry_run=dry_run), report.created),
        (say("roster.updated"), report.updated),
        (say("roster.rejoined"), report.rejoined),
        (say("roster.unchanged"), report.unchanged),
        (say("roster.marked_left", dry_run=dry_run), report.marked_left),
        (say("roster.invalid_skipped"), len(report.invalid_lines)),
    ):
        table.add_row(label, str(value))
    console.print(table)


def _problem(problem: Any) -> str:
    """A roster problem in the operator's language, escaped for Rich."""
    return shown(localize(problem, cli_language()))


def _print_lines(file: Path, report: Any, sheet: str | None) -> None:
    console.print(
        say(
            "roster.lines",
            name=shown(file.name),
            rows=report.rows,
            kind=shown(_file_kind(report, sheet)),
            valid=report.valid,
        )
    )


def _file_kind(report: Any, sheet: str | None = None) -> str:
    if report.encoding == "xlsx":
        return say("roster.kind_workbook", sheet=repr(sheet) if sheet else "")
    return say("roster.kind_csv", encoding=report.encoding, delimiter=repr(report.delimiter))


@roster_group.command("validate")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--sheet", default=None, help="The workbook's sheet to read (default: the first one)."
)
def roster_validate(file: Path, sheet: str | None) -> None:
    """Check FILE line by line without a database; exit 1 when a line is invalid."""
    from plugin.people.roster import open_roster
    from plugin.people.service import ImportReport, validate_roster

    roster = open_roster(file, sheet=sheet)
    report = ImportReport(
        source_name=file.name,
        encoding=roster.encoding,
        delimiter=roster.delimiter,
        ignored_columns=roster.ignored_columns,
        dry_run=True,
    )
    validate_roster(roster, report)
    if report.problems:
        raise ValidationFailed(
            say(
                "roster.validate_failed",
                name=file.name,
                invalid=len(report.invalid_lines),
                rows=report.rows,
            ),
            list(report.problems),
        )
    console.print(
        say(
            "roster.all_valid",
            name=shown(file.name),
            rows=report.rows,
            kind=shown(_file_kind(report, sheet)),
            path=shown(file),
        )
    )


@roster_group.command("diff")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--limit", default=20, show_default=True, help="People listed per group.")
@click.option(
    "--sheet", default=None, help="The workbook's sheet to read (default: the first one)."
)
def roster_diff(file: Path, limit: int, sheet: str | None) -> None:
    """What importing FILE would change (joiners, changes, leavers); writes nothing."""
    from plugin.people.models import Language
    from plugin.people.preview import preview_roster

    ctx = context()
    language = Language(ctx.runtime.current.default_language)
    with transaction(ctx.sessions) as session:
        preview = preview_roster(session, file, default_language=language, sheet=sheet)
    report = preview.report
    _print_lines(file, report, sheet)
    for problem in report.problems:
        console.print(f"  [red]{say('roster.invalid')}[/] {_problem(problem)}")
    console.print(
        say(
            "roster.diff_counts",
            joining=preview.joiner_count,
            changing=preview.changed_count,
            leaving=preview.leaver_count,
            unchanged=preview.unchanged_count,
        )
    )
    for person in preview.joiners[:limit]:
        line = say("roster.diff_line", line=person.line, email=shown(person.email),
                   name=shown(person.name))  # fmt: skip
        console.print(f"  [green]+[/] {line}")
    for change in preview.changed[:limit]:
        what = ", ".join(f"{c.field}: {c.before!r} → {c.after!r}" for c in change.changes)
        line = say("roster.diff_changed", line=change.person.line,
                   email=shown(change.person.email), back=change.rejoining,
                   what=shown(what))  # fmt: skip
        console.print(f"  [yellow]~[/] {line}")
    for person in preview.leavers[:limit]:
        line = say("roster.diff_leaver", email=shown(person.email), name=shown(person.name))
        console.print(f"  [red]-[/] {line}")
    console.print(f"[dim]{say('roster.diff_nothing_written')}[/]")


# --------------------------------------------------------------------------- people


@click.group("people")
def people_group() -> None:
    """People in the roster."""


@people_group.command("forget")
@click.argument("email")
@irreversible
def people_forget(email: str, dry_run: bool, yes: bool) -> None:
    """Erase EMAIL everywhere in Envol's database (keeps anonymous counts only)."""
    from plugin import models  # noqa: F401 - every capability's eraser, registered
    from plugin.people.forget import forget_person

    ctx = context()
    with transaction(ctx.sessions) as session:
        savepoint = session.begin_nested()
        report = forget_person(session, email, actor=_actor())
        savepoint.rollback()
    if not dry_run and (report.found_in_roster or report.total):
        _print_forget_report(report, "will")
        confirm_irreversible(say("people.confirm_forget", email=email), yes=yes)
        with transaction(ctx.sessions) as session:
            report = forget_person(session, email, actor=_actor())
    if not report.found_in_roster and not report.total:
        console.print(shown(say("forget.nothing_found")))
        return
    _print_forget_report(report, "would" if dry_run else "done")
    if not dry_run:
        console.print(f"[dim]{shown(say('forget.remove_from_hr_export'))}[/]")


def _print_forget_report(report: Any, stage: str) -> None:
    """What was (``done``), ``will`` be or ``would`` be erased, one line per kind of record."""
    console.print(f"[bold]{shown(say('forget.heading', stage=stage))}[/]")
    lines = sorted((_erased(what), count) for what, count in report.counts.items())
    for what, count in lines:
        console.print(f"  {shown(say('count_line', what=what, count=count))}")


def _erased(what: str) -> str:
    """An eraser's count name (English, as the audit trail keeps it) in the operator's
    language; an eraser added without its line in the catalogue shows its English name."""
    from plugin import i18n
    from plugin.cli.base import MESSAGES

    key = erased_key(what)
    if key not in i18n.load_catalogue(MESSAGES).keys:
        return what
    return say(key)


def erased_key(what: str) -> str:
    """``roster entries deleted`` -> ``erased.roster_entries_deleted``."""
    return "erased." + re.sub(r"[^a-z0-9]+", "_", what.lower()).strip("_")


# --------------------------------------------------------------------------- cohorts


@click.group("cohorts")
def cohorts_group() -> None:
    """The pilot, the managers-and-champions cohort, the waves' cohorts."""


@cohorts_group.command("plan")
@click.option(
    "--pilot-percent",
    type=click.FloatRange(0, 100, min_open=True),
    default=None,
    help="Share of the roster in the pilot (default: the plugin setting).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the random draw.")
@click.option(
    "--waves",
    "general_waves",
    type=click.IntRange(1, 50),
    default=3,
    show_default=True,
    help="General waves after the pilot.",
)
@click.option("--replace", is_flag=True, help="Replace a plan whose waves have not opened.")
@click.option("--dry-run", is_flag=True, help="Show the plan, write nothing.")
def cohorts_plan(
    pilot_percent: float | None, seed: int, general_waves: int, replace: bool, dry_run: bool
) -> None:
    """Choose the pilot (stratified by department and site) and plan the waves."""
    from plugin.cohorts.service import apply_plan, build_plan
    from plugin.cohorts.views import pilot_table, plan_table

    ctx = context()
    settings = ctx.runtime.current
    percent = pilot_percent if pilot_percent is not None else settings.pilot_percent
    with transaction(ctx.sessions) as session:
        plan = build_plan(
            session, settings, percent=percent, seed=seed, general_waves=general_waves
        )
        if not dry_run:
            apply_plan(session, plan, actor=_actor(), replace=replace)
    language = cli_language()
    console.print(pilot_table(plan.pilot, language=language))
    console.print(plan_table(plan, language=language))
    for warning in plan.warnings:
        console.print(f"[yellow]{shown(say('warning'))}[/] {_problem(warning)}")
    if dry_run:
        console.print(f"[dim]{shown(say('cohorts.plan_dry_run'))}[/]")
    else:
        console.print(f"[green]{shown(say('cohorts.plan_saved'))}[/]")


@cohorts_group.command("approve")
@click.option("--note", default="", help="Recorded in the audit trail.")
def cohorts_approve(note: str) -> None:
    """Approve the pilot as it stands (adding or removing someone later withdraws it)."""
    from plugin.cohorts.approval import approve_pilot, current_pilot

    with transaction(context().sessions) as session:
        changed = approve_pilot(session, actor=_actor(), note=note)
        pilot = current_pilot(session)
        assert pilot is not None
        selected, by = pilot.selected, pilot.cohort.approved_by
    if changed:
        console.print(say("cohorts.approved", count=selected))
    else:
        console.print(shown(say("cohorts.already_approved", by=by)))


@cohorts_group.command("list")
def cohorts_list() -> None:
    """Cohorts and their sizes."""
    from plugin.cohorts.service import cohort_sizes
    from plugin.cohorts.stored_text import worded_description

    language = cli_language()
    with transaction(context().sessions) as session:
        rows = cohort_sizes(session)
    table = Table(title=say("cohorts.title"), title_justify="left")
    for column in ("name", "kind", "people", "description"):
        table.add_column(
            say(f"cohorts.column.{column}"), justify="right" if column == "people" else "left"
        )
    for cohort, size in rows:
        kind = say(f"cohorts.kind.{cohort.kind.value}")
        description = worded_description(cohort.description, language)
        table.add_row(shown(cohort.name), kind, str(size), shown(description))
    console.print(table)


@cohorts_group.command("show")
@click.argument("name")
@click.option("--limit", default=50, show_default=True, help="Members shown.")
def cohorts_show(name: str, limit: int) -> None:
    """The members of cohort NAME."""
    from plugin.cohorts.service import cohort_members
    from plugin.cohorts.stored_text import worded_description, worded_reason

    language = cli_language()
    with transaction(context().sessions) as session:
        found = cohort_members(session, name, limit)
    cohort = found.cohort
    title = say(
        "cohorts.show.title",
        name=shown(cohort.name),
        kind=say(f"cohorts.kind.{cohort.kind.value}"),
        description=shown(worded_description(cohort.description, language)),
    )
    table = Table(title=title, title_justify="left")
    for column in ("name", "department", "site", "role", "volunteer", "why"):
        table.add_column(say(f"cohorts.column.{column}"))
    for person, reason in found.members:
        table.add_row(
            shown(person.display_name),
            shown(person.department),
            shown(person.site),
            say(f"role.{person.role.value}"),
            say("answer.yes") if person.volunteer else "",
            shown(worded_reason(reason, language)),
        )
    console.print(table)


@cohorts_group.command("add")
@click.argument("cohort")
@click.argument("emails", nargs=-1, required=True)
@click.option("--reason", default="", help="Why (recorded in the audit trail).")
def cohorts_add(cohort: str, emails: tuple[str, ...], reason: str) -> None:
    """Add people (by e-mail) to COHORT."""
    from plugin.cohorts.service import add_to_cohort

    with transaction(context().sessions) as session:
        added = sum(
            add_to_cohort(session, cohort, e, actor=_actor(), reason=reason) for e in emails
        )
    console.print(
        shown(say("cohorts.added", added=added, cohort=cohort, already=len(emails) - added))
    )


@cohorts_group.command("remove")
@click.argument("cohort")
@click.argument("emails", nargs=-1, required=True)
@click.option("--reason", default="", help="Why (recorded in the audit trail).")
def cohorts_remove(cohort: str, emails: tuple[str, ...], reason: str) -> None:
    """Remove people (by e-mail) from COHORT."""
    from plugin.cohorts.service import remove_from_cohort

    with transaction(context().sessions) as session:
        removed = sum(
            remove_from_cohort(session, cohort, e, actor=_actor(), reason=reason) for e in emails
        )
    console.print(
        shown(say("cohorts.removed", removed=removed, cohort=cohort, absent=len(emails) - removed))
    )


# --------------------------------------------------------------------------- waves

_limit_options = [
    click.option(
        "--max-users-per-team",
        type=click.IntRange(1),
        default=None,
        help="The server's TeamSettings.MaxUsersPerTeam (default 50 on a new server).",
    ),
    click.option(
        "--user-cap",
        type=click.IntRange(1),
        default=None,
        help="The server's user limit (licence, or /api/v4/limits/server).",
    ),
    click.option(
        "--users-on-server",
        type=click.IntRange(0),
        default=0,
        help="Active users already on the server (they count towards the cap).",
    ),
]


def _with_limits(command: Any) -> Any:
    for option in reversed(_limit_options):
        command = option(command)
    return command


@click.group("waves")
def waves_group() -> None:
    """Waves: list, show, gate, launch."""


@waves_group.command("list")
@_with_limits
def waves_list(max_users_per_team: int | None, user_cap: int | None, users_on_server: int) -> None:
    """Every wave, in launch order, checked against the server's limits."""
    from plugin.cohorts.gates import evaluate_gate
    from plugin.cohorts.models import WaveStatus
    from plugin.cohorts.service import ServerLimits, list_waves
    from plugin.cohorts.views import gate_lines, waves_table
    from plugin.metrics.gates import MetricsGateMeasures

    limits = ServerLimits(max_users_per_team, user_cap, users_on_server)
    ctx = context()
    with transaction(ctx.sessions) as session:
        summaries = list_waves(session, limits)
        measures = MetricsGateMeasures()
        gates = {
            s.wave.id: evaluate_gate(session, s.wave, ctx.runtime.current, measures)
            for s in summaries
            if s.wave.status == WaveStatus.PLANNED
        }
    if not summaries:
        console.print(shown(say("waves.none")))
        return
    language = cli_language()
    console.print(waves_table(summaries, language=language))
    for line in gate_lines(summaries, gates, language=language):
        console.print(line)
    for summary in summaries:
        label = shown(say("waves.warning", wave=summary.wave.name))
        for warning in summary.warnings:
            console.print(f"[yellow]{label}[/] {_problem(warning)}")


@waves_group.command("show")
@click.argument("name")
@_with_limits
def waves_show(
    name: str, max_users_per_team: int | None, user_cap: int | None, users_on_server: int
) -> None:
    """One wave: its cohort, dates, channels, gate and limits."""
    from plugin.cohorts.gates import evaluate_gate
    from plugin.cohorts.service import ServerLimits, list_waves, wave_by_name
    from plugin.cohorts.views import gate_table, wave_status
    from plugin.metrics.gates import MetricsGateMeasures

    limits = ServerLimits(max_users_per_team, user_cap, users_on_server)
    ctx = context()
    with transaction(ctx.sessions) as session:
        wave = wave_by_name(session, name)
        summary = next(s for s in list_waves(session, limits) if s.wave.id == wave.id)
        gate = evaluate_gate(session, wave, ctx.runtime.current, MetricsGateMeasures())
    language = cli_language()
    status = wave_status(wave, language, mark_override=False)
    heading = say("wave.heading", wave=wave.name, position=wave.position, status=status)
    console.print(f"[bold]{shown(heading)}[/]")
    planned = wave.planned_at.strftime("%Y-%m-%d %H:%M") if wave.planned_at else "—"
    opened = wave.opened_at.strftime("%Y-%m-%d %H:%M") if wave.opened_at else "—"
    console.print("  " + shown(say("wave.dates", planned=planned, opened=opened)))
    console.print("  " + shown(say("wave.channels", channels=", ".join(wave.channels) or "—")))
    people = say(
        "wave.people",
        members=summary.members,
        handed_off=summary.handed_off,
        joined=summary.joined,
        team=summary.team_size_after,
    )
    console.print("  " + shown(people))
    if wave.gate_overridden_reason:
        overridden = say(
            "wave.gate_overridden", by=wave.gate_overridden_by, reason=wave.gate_overridden_reason
        )
        console.print("  " + shown(overridden))
    for warning in summary.warnings:
        console.print(f"  [yellow]{shown(say('warning'))}[/] {_problem(warning)}")
    console.print(gate_table(gate, language=language))


@waves_group.command("gate")
@click.argument("name")
@click.option("--override", is_flag=True, help="Let the wave open although the gate fails.")
@click.option("--reason", default="", help="Why the gate is overridden (required with --override).")
def waves_gate(name: str, override: bool, reason: str) -> None:
    """Each criterion of the gate of wave NAME: measured, threshold, pass or fail, trend."""
    from plugin.cohorts.gates import criterion_label
    from plugin.cohorts.service import override_gate, wave_by_name
    from plugin.cohorts.views import gate_table
    from plugin.metrics.gates import explain_gate

    ctx = context()
    if reason and not override:
        raise EnvolError(say("gate.reason_needs_override"))
    with transaction(ctx.sessions) as session:
        if override:
            override_gate(session, name, reason=reason, actor=_actor())
        explanation = explain_gate(session, wave_by_name(session, name), ctx.runtime.current)
    gate = explanation.result
    language = cli_language()
    console.print(gate_table(gate, explanation.trends, language=language))
    if gate.passed:
        console.print(f"[green]{shown(say('gate.holds'))}[/]")
    elif gate.overridden_reason:
        console.print(f"[yellow]{shown(say('gate.overridden', reason=gate.overridden_reason))}[/]")
    else:
        missing = [
            criterion_label(r.criterion.key, language)
            for r in gate.criteria
            if r.required and r.measured is None
        ]
        if missing:
            console.print(shown(say("gate.missing", criteria=", ".join(missing))))
        console.print(f"[red]{shown(say('gate.fails'))}[/]")


def _launch_facts(session: Any, ctx: Any) -> Any:
    """The announcement's state and a fresh preflight, as ``check_wave_can_open`` needs them."""
    from plugin.campaigns.plan import read_plan
    from plugin.console.launch import launch_facts
    from plugin.mattermost import MattermostClient
    from plugin.preflight import PreflightContext, run_preflight

    plan, _ = read_plan()
    with MattermostClient.from_settings(ctx.settings, retry_budget_seconds=15) as client:
        report = run_preflight(
            PreflightContext(client=client, deploy=ctx.settings, runtime=ctx.runtime.current)
        )
    return launch_facts(session, plan, report)


@waves_group.command("launch")
@click.argument("name")
@click.option(
    "--force", is_flag=True, help="Open before the planned date or out of order (needs --reason)."
)
@click.option("--reason", default="", help="Why --force is needed (recorded in the audit trail).")
@irreversible
def waves_launch(name: str, force: bool, reason: str, dry_run: bool, yes: bool) -> None:
    """Open wave NAME and hand its people to the invitation engine (safe to repeat).

    A wave opens only after the waves before it, on or after its planned date, once the
    campaign's announcement has gone out, with preflight clean and its gate holding.
    --force --reason "…" lifts the date and order rules only.
    """
    from plugin.cohorts.service import launch_wave
    from plugin.cohorts.views import gate_table
    from plugin.invitations.service import plan_wave_invitations
    from plugin.metrics.gates import MetricsGateMeasures

    if force != bool(reason.strip()):
        raise EnvolError(say("launch.force_needs_reason"))
    ctx = context()
    arguments: dict[str, Any] = {
        "actor": _actor(),
        "plan_invitations": plan_wave_invitations,
        "measures": MetricsGateMeasures(),
        "force_reason": reason if force else "",
    }
    with transaction(ctx.sessions) as session:
        facts = _launch_facts(session, ctx)
        preview = launch_wave(
            session, name, ctx.runtime.current, dry_run=True, facts=facts, **arguments
        )
    if preview.gate is not None:
        console.print(gate_table(preview.gate, language=cli_language()))
    if preview.check is not None:
        for refusal in preview.check.forced:
            forced = say("launch.forced", reason=shown(reason.strip()))
            console.print(f"[yellow]{forced}[/] {shown(refusal.message(cli_language()))}")
    skipped = (
        say("launch.skipped", count=preview.already_in_earlier_wave)
        if preview.already_in_earlier_wave
        else ""
    )
    if not preview.changed:
        console.print(say("launch.already_done", wave=shown(name), skipped=skipped))
        return
    plan_line = say("launch.plan", opening=preview.opened_now, wave=shown(name),
                    count=len(preview.person_ids), skipped=skipped)  # fmt: skip
    if dry_run:
        console.print(say("launch.dry_run", plan=plan_line))
        return
    console.print(say("launch.this_will", plan=plan_line))
    confirm_irreversible(say("launch.confirm", wave=name, count=len(preview.person_ids)), yes=yes)
    with transaction(ctx.sessions) as session:
        result = launch_wave(
            session, name, ctx.runtime.current, facts=_launch_facts(session, ctx), **arguments
        )
    done = say("launch.done", wave=shown(name), opened=result.opened_now,
               count=len(result.person_ids))  # fmt: skip
    console.print(f"[green]{done}[/]{skipped}")


# --------------------------------------------------------------------------- waitlist


@click.group("waitlist")
def waitlist_group() -> None:
    """Requests to join made on the /join page."""


@waitlist_group.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "approved", "rejected", "all"]),
    default="pending",
    show_default=True,
)
def waitlist_list(status: str) -> None:
    """Requests, oldest first."""
    from plugin.cohorts.models import WaitlistStatus
    from plugin.cohorts.waitlist import list_requests

    chosen = None if status == "all" else WaitlistStatus(status)
    with transaction(context().sessions) as session:
        requests = list_requests(session, chosen)
        title = say("waitlist.title", status=say(f"waitlist.status.{status}"))
        table = Table(title=title, title_justify="left")
        table.add_column("#")
        for column in ("email", "in_roster", "asked", "status", "why"):
            table.add_column(say(f"waitlist.column.{column}"))
        for r in requests:
            table.add_row(
                str(r.id),
                shown(r.email or say("waitlist.forgotten")),
                say("answer.yes") if r.person_id else say("answer.no"),
                r.created_at.strftime("%Y-%m-%d %H:%M"),
                say(f"waitlist.status.{r.status.value}"),
                shown(r.reason),
            )
    console.print(table)


@waitlist_group.command("approve")
@click.argument("request_ids", nargs=-1, type=int, required=True)
@click.option("--note", default="", help="Recorded in the audit trail.")
def waitlist_approve(request_ids: tuple[int, ...], note: str) -> None:
    """Approve requests: each person goes, with priority, into the next wave."""
    from plugin.cohorts.waitlist import approve_request

    with transaction(context().sessions) as session:
        approvals = [approve_request(session, i, actor=_actor(), note=note) for i in request_ids]
    for approval in approvals:
        approved = say("waitlist.approved", id=approval.request_id, note=approval.note)
        console.print(shown(approved))


@waitlist_group.command("reject")
@click.argument("request_ids", nargs=-1, type=int, required=True)
@click.option("--note", default="", help="Recorded in the audit trail.")
def waitlist_reject(request_ids: tuple[int, ...], note: str) -> None:
    """Reject requests."""
    from plugin.cohorts.waitlist import reject_request

    with transaction(context().sessions) as session:
        for request_id in request_ids:
            reject_request(session, request_id, actor=_actor(), note=note)
    console.print(shown(say("waitlist.rejected", count=len(request_ids))))


def register(root: click.Group) -> None:
    for group in (roster_group, people_group, cohorts_group, waves_group, waitlist_group):
        root.add_command(group)
