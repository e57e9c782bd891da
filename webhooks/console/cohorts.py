"""``/console/cohorts``: the stratified pilot — the proposal, another draw, edits, approval.

Before a plan exists the page shows the proposal ``build_plan`` makes (nothing written);
"approve this proposal" writes it with ``apply_plan`` and approves it with ``approve_pilot``,
the functions ``envol cohorts plan`` and ``envol cohorts approve`` call. Once written, another
seed shows an alternative beside it, which replaces it only while no wave has opened (the
service's rule, shown as its refusal).
"""

from __future__ import annotations

from typing import Any

from flask import request

from plugin.cohorts.approval import approve_pilot, current_pilot, pilot_cohort, pilot_members
from plugin.cohorts.service import add_to_cohort, apply_plan, build_plan, remove_from_cohort
from plugin.errors import EnvolError
from webhooks.console import blueprint
from webhooks.console.auth import (
    acting,
    current_language,
    found,
    load_user,
    signed_in,
    t,
    transaction_for_console,
)
from webhooks.console.pages import done, refusal, render_page

DEFAULT_GENERAL_WAVES = 3


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value or default)
    except ValueError:
        return default
    return min(max(number, low), high)


def _page(status: int = 200, **extra: Any) -> Any:
    runtime = found().runtime
    seed_asked = request.values.get("seed")
    seed = _int(seed_asked, 1, 0, 1_000_000)
    waves = _int(request.values.get("waves"), DEFAULT_GENERAL_WAVES, 1, 50)
    with found().context.sessions() as session:
        pilot = current_pilot(session)
        proposal = None
        proposal_error = ""
        if pilot is None or seed_asked is not None:
            try:
                proposal = build_plan(
                    session, runtime, percent=runtime.pilot_percent, seed=seed, general_waves=waves
                )
            except EnvolError as error:
                proposal_error = error.localized(current_language())
        members = pilot_members(session, limit=500)
        return render_page(
            "console/cohorts.html",
            status,
            pilot=pilot,
            members=members,
            proposal=proposal,
            proposal_error=proposal_error,
            seed=seed,
            next_seed=seed + 1,
            waves=waves,
            percent=runtime.pilot_percent,
            **extra,
        )


@blueprint.get("/cohorts")
@signed_in
def cohorts() -> Any:
    return _page()


@blueprint.post("/cohorts/approve-proposal")
@acting
def approve_proposal() -> Any:
    user = load_user()
    assert user is not None
    runtime = found().runtime
    seed = _int(request.form.get("seed"), 1, 0, 1_000_000)
    waves = _int(request.form.get("waves"), DEFAULT_GENERAL_WAVES, 1, 50)
    try:
        with transaction_for_console() as session:
            plan = build_plan(
                session, runtime, percent=runtime.pilot_percent, seed=seed, general_waves=waves
            )
            apply_plan(session, plan, actor=user.actor, replace=pilot_cohort(session) is not None)
            approve_pilot(session, actor=user.actor, note=request.form.get("note", ""))
    except EnvolError as error:
        return _page(409, **refusal(error))
    return done("console.cohorts", "pilot_approved")


@blueprint.post("/cohorts/approve")
@acting
def approve() -> Any:
    user = load_user()
    assert user is not None
    try:
        with transaction_for_console() as session:
            approve_pilot(session, actor=user.actor, note=request.form.get("note", ""))
    except EnvolError as error:
        return _page(409, **refusal(error))
    return done("console.cohorts", "pilot_approved")


def _edit(change: Any, notice: str) -> Any:
    user = load_user()
    assert user is not None
    email = request.form.get("email", "").strip()[:254]
    reason = request.form.get("reason", "").strip()[:200]
    try:
        with transaction_for_console() as session:
            cohort = pilot_cohort(session)
            if cohort is None:
                raise EnvolError(t("refusal.no_pilot"))
            changed = change(session, cohort.name, email, actor=user.actor, reason=reason)
    except EnvolError as error:
        return _page(409, **refusal(error))
    return done("console.cohorts", notice if changed else "nothing_changed")


@blueprint.post("/cohorts/add")
@acting
def add_person() -> Any:
    return _edit(add_to_cohort, "person_added")


@blueprint.post("/cohorts/remove")
@acting
def remove_person() -> Any:
    return _edit(remove_from_cohort, "person_removed")


@blueprint.app_template_global("pilot_strata")
def pilot_strata(pilot: Any) -> list[dict[str, Any]]:
    """The written pilot's strata for ``_strata.html``."""
    order = ("must include", "drawn", "added by hand")
    return [
        {
            "department": s.department,
            "site": s.site,
            "population": s.population,
            "selected": s.selected,
            "why": [(k.replace(" ", "_"), s.reasons[k]) for k in order if s.reasons.get(k)],
        }
        for s in pilot.strata
    ]


@blueprint.app_template_global("proposal_strata")
def proposal_strata(selection: Any) -> list[dict[str, Any]]:
    """A proposal's strata (``PilotSelection``) for ``_strata.html``."""
    rows = []
    for s in sorted(selection.strata, key=lambda s: (s.department, s.site)):
        why = [(reason, count) for reason, count in sorted(s.included.items())]
        if s.drawn:
            why.append(("drawn", s.drawn))
        rows.append(
            {
                "department": s.department,
                "site": s.site,
                "population": s.population,
                "selected": s.selected,
                "why": why,
            }
        )
    return rows
