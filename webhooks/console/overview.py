"""``/console/``: the launch on one page — the timeline around launch day, what is done and
due this week, what blocks, and the invitation funnel at a glance."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app

from plugin import clock
from plugin.campaigns.plan import read_plan
from plugin.campaigns.service import calendar
from plugin.cohorts.approval import current_pilot
from plugin.cohorts.gates import criterion_label
from plugin.cohorts.guards import RefusalCode, check_wave_can_open
from plugin.cohorts.models import WaveStatus
from plugin.cohorts.service import next_planned_wave
from plugin.console.launch import launch_facts
from plugin.console.queries import active_people, last_roster_import, waves_in_order
from plugin.errors import localize
from plugin.launch_files import errors_of
from plugin.metrics.gates import MetricsGateMeasures
from plugin.onboarding.funnel import funnel
from plugin.preflight import PreflightContext, PreflightReport, run_preflight
from webhooks.console import blueprint
from webhooks.console.auth import found, signed_in, t
from webhooks.console.pages import days_label, render_page

PREFLIGHT_CACHE_SECONDS = 300.0
_preflight_lock = threading.Lock()


@dataclass(frozen=True)
class Milestone:
    day: dt.date | None
    label: str
    state: str  # done | overdue | this_week | later | todo
    endpoint: str


@dataclass(frozen=True)
class Blocker:
    what: str
    action: str
    endpoint: str


def cached_preflight() -> PreflightReport | None:
    """The preflight (the checks ``envol preflight`` runs), at most every five minutes."""
    cache = current_app.extensions.setdefault("envol.console.preflight", {})
    with _preflight_lock:
        entry = cache.get("report")
        if entry and time.monotonic() - entry[0] < PREFLIGHT_CACHE_SECONDS:
            return entry[1]
    where = found()
    try:
        report = run_preflight(
            PreflightContext(
                client=where.client, deploy=where.context.settings, runtime=where.runtime
            )
        )
    except Exception:  # anything at all: the overview still shows the rest
        report = None
    with _preflight_lock:
        cache["report"] = (time.monotonic(), report)
    return report


def _state(day: dt.date | None, done: bool, today: dt.date) -> str:
    if done:
        return "done"
    if day is None:
        return "todo"
    if day < today:
        return "overdue"
    if day < today + dt.timedelta(days=7):
        return "this_week"
    return "later"


def timeline(session: Any, language: str) -> list[Milestone]:
    runtime = found().runtime
    today = clock.now().date()
    items: list[Milestone] = []
    last_import = last_roster_import(session)
    items.append(
        Milestone(
            last_import.started_at.date() if last_import else None,
            t("milestone.roster", language),
            "done" if last_import else "todo",
            "console.roster",
        )
    )
    pilot = current_pilot(session)
    items.append(
        Milestone(
            pilot.cohort.approved_at.date() if pilot and pilot.cohort.approved_at else None,
            t("milestone.pilot", language),
            "done" if pilot and (pilot.approved or pilot.opened) else "todo",
            "console.cohorts",
        )
    )
    for wave in waves_in_order(session):
        moment = wave.opened_at or wave.planned_at
        day = moment.date() if moment else None
        items.append(
            Milestone(
                day,
                t("milestone.wave", language, name=wave.name),
                _state(day, wave.status != WaveStatus.PLANNED, today),
                "console.waves",
            )
        )
    plan, _ = read_plan()
    if plan is not None:
        for entry in calendar(session, plan, runtime.launch_date):
            day = entry.local_due.date()
            items.append(
                Milestone(
                    day,
                    t(
                        "milestone.step",
                        language,
                        key=entry.step.key,
                        kind=t("step_kind." + entry.step.kind.value, language),
                    ),
                    _state(day, entry.state != "to come", today),
                    "console.campaign",
                )
            )
    undated = [m for m in items if m.day is None]
    dated = sorted((m for m in items if m.day is not None), key=lambda m: m.day or today)
    return undated + dated


_ANNOUNCEMENT = (RefusalCode.ANNOUNCEMENT_NOT_SENT, RefusalCode.NO_ANNOUNCEMENT_STEP)


def blockers(session: Any, language: str) -> list[Blocker]:
    found_blockers: list[Blocker] = []
    report = cached_preflight()
    if report is None:
        found_blockers.append(
            Blocker(t("blocker.unreachable", language), t("blocker.unreachable_do", language), "")
        )
    else:
        for check in report.blockers:
            name, finding = localize(check.name, language), localize(check.found, language)
            found_blockers.append(
                Blocker(
                    t("blocker.preflight", language, name=name, found=finding),
                    localize(check.action, language),
                    "",
                )
            )
    wave = next_planned_wave(session)
    if wave is not None:
        # The guard rails of ``envol waves launch``: the announcement first, then the gate.
        plan, _ = read_plan()
        guard = check_wave_can_open(
            session, wave, found().runtime, launch_facts(session, plan, report),
            measures=MetricsGateMeasures(),
        )  # fmt: skip
        for refusal in guard.refusals:
            if refusal.code in _ANNOUNCEMENT:
                found_blockers.append(Blocker(refusal.message(language), "", "console.campaign"))
        gate = guard.gate
        if gate is not None and not gate.may_open:
            failing = ", ".join(
                criterion_label(r.criterion.key, language) for r in gate.criteria if not r.passed
            )
            found_blockers.append(
                Blocker(
                    t("blocker.gate", language, wave=wave.name, failing=failing),
                    t("blocker.gate_do", language),
                    "console.waves",
                )
            )
    _, problems = read_plan()
    errors = errors_of(problems)
    if errors:
        found_blockers.append(
            Blocker(
                t("blocker.campaign", language, n=len(errors)),
                errors[0].localized(language),
                "console.campaign",
            )
        )
    return found_blockers


@blueprint.get("/")
@signed_in
def overview() -> Any:
    where = found()
    runtime = where.runtime
    language = t("lang")
    today = clock.now().date()
    with where.context.sessions() as session:
        milestones = timeline(session, language)
        problems = blockers(session, language)
        overall = funnel(session, runtime)
        people = active_people(session)
    return render_page(
        "console/overview.html",
        launch=runtime.launch_date,
        countdown=days_label(today, runtime.launch_date, language),
        company=runtime.company_name,
        milestones=milestones,
        done_items=[m for m in milestones if m.state == "done"][-5:],
        due_items=[m for m in milestones if m.state in ("overdue", "this_week")],
        blockers=problems,
        funnel=overall,
        people=people,
        days_label=lambda day: days_label(day, runtime.launch_date, language) if day else "—",
    )
