"""``/console/waves``: each wave with its date, size, the server's limits and its gate; Launch
(typed confirmation, showing exactly who will be invited) and Override (with a reason).

The gate is ``evaluate_gate`` and the launch ``launch_wave`` — what ``envol waves gate`` and
``envol waves launch`` call — so every rule of a launch, present or added later, applies here
and its refusal is shown as the service words it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import abort, request

from plugin.campaigns.plan import read_plan
from plugin.cohorts.gates import CriterionResult
from plugin.cohorts.guards import LaunchFacts, OpenCheck, check_wave_can_open
from plugin.cohorts.limits import limits_from_server
from plugin.cohorts.models import WaveStatus
from plugin.cohorts.service import (
    ServerLimits,
    launch_wave,
    list_waves,
    override_gate,
    wave_by_name,
)
from plugin.console.launch import launch_facts
from plugin.console.queries import people_by_ids, people_on_mattermost
from plugin.errors import EnvolError
from plugin.invitations.service import plan_wave_invitations
from plugin.metrics.gates import MetricsGateMeasures
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
from webhooks.console.overview import cached_preflight
from webhooks.console.pages import done, refusal, render_page

# What ``envol waves launch`` launches with: the gate on the metrics' measures, the invitations
# planned by the invitation engine.
_LAUNCH_WITH: dict[str, Any] = {
    "measures": MetricsGateMeasures(),
    "plan_invitations": plan_wave_invitations,
}


def _facts(session: Any) -> LaunchFacts:
    """What ``envol waves launch`` checks too: the announcement sent, preflight clean."""
    plan, _ = read_plan()
    return launch_facts(session, plan, cached_preflight())


def _limits(session: Any) -> ServerLimits:
    joined = people_on_mattermost(session)
    try:
        return limits_from_server(found().client, joined_from_roster=joined)
    except EnvolError:
        return ServerLimits()


def criterion_view(result: CriterionResult) -> dict[str, Any]:
    """A gate criterion for the page: state, and a bar scaled to the criterion's range."""
    top = 5.0 if result.criterion.unit == "/5" else 100.0
    return {
        "key": result.criterion.key,
        "unit": result.criterion.unit,
        "measured": result.measured,
        "threshold": result.threshold,
        "state": result.state,
        "worst_wave": result.worst_wave,
        "pct": 100 * (result.measured or 0) / top,
        "mark": 100 * result.threshold / top if result.required else None,
    }


def check_view(check: OpenCheck | None) -> dict[str, Any]:
    """The guard rails' verdict for the page, in the signed-in person's language."""
    if check is None:
        return {"refusals": [], "blocked": False, "forceable": False}
    language = current_language()
    return {
        "refusals": check.messages(language),
        "blocked": bool(check.refusals) and not check.forceable,
        "forceable": check.forceable,
    }


def _people_digest(person_ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(person_ids))).encode()).hexdigest()


def _waves_page(status: int = 200, **extra: Any) -> Any:
    runtime = found().runtime
    with found().context.sessions() as session:
        limits = _limits(session)
        facts = _facts(session)
        rows = []
        for summary in list_waves(session, limits):
            check = None
            if summary.wave.status == WaveStatus.PLANNED:
                check = check_wave_can_open(
                    session, summary.wave, runtime, facts, measures=MetricsGateMeasures()
                )
            gate = check.gate if check is not None else None
            rows.append(
                {
                    "summary": summary,
                    "gate": gate,
                    "criteria": [criterion_view(c) for c in gate.criteria] if gate else [],
                    "check": check_view(check),
                }
            )
        return render_page("console/waves.html", status, rows=rows, limits=limits, **extra)


@blueprint.get("/waves")
@signed_in
def waves() -> Any:
    return _waves_page()


_PREVIEW_REASON = "preview"  # lifts date and order for the confirmation page only (dry run)


def _confirm_page(name: str, status: int = 200, **extra: Any) -> Any:
    user = load_user()
    assert user is not None
    runtime = found().runtime
    with found().context.sessions() as session:
        try:
            wave = wave_by_name(session, name)
            facts = _facts(session)
            check = None
            if wave.status == WaveStatus.PLANNED:
                check = check_wave_can_open(
                    session, wave, runtime, facts, measures=_LAUNCH_WITH["measures"]
                )
            # Date and order refusals can be lifted with a reason: the page asks for it.
            result = launch_wave(
                session, name, runtime, actor=user.actor, dry_run=True, facts=facts,
                force_reason=_PREVIEW_REASON if check and check.forceable else "",
                language=current_language(), **_LAUNCH_WITH,
            )  # fmt: skip
        except EnvolError as error:
            return _waves_page(409, **refusal(error), focus_wave=name)
        return render_page(
            "console/wave_launch.html",
            status,
            wave=wave,
            result=result,
            people=people_by_ids(session, result.person_ids),
            digest=_people_digest(result.person_ids),
            criteria=[criterion_view(c) for c in result.gate.criteria] if result.gate else [],
            check=check_view(check),
            **extra,
        )


@blueprint.get("/waves/<name>/launch")
@signed_in
def wave_launch_confirm(name: str) -> Any:
    return _confirm_page(name)


@blueprint.post("/waves/<name>/launch")
@acting
def wave_launch(name: str) -> Any:
    user = load_user()
    assert user is not None
    if request.form.get("confirm", "").strip() != name:
        return _confirm_page(name, 400, error=t("launch.mismatch", name=name))
    force_reason = request.form.get("force_reason", "").strip()
    if len(force_reason) > 2000:
        abort(400)
    runtime = found().runtime
    options: dict[str, Any] = {
        "actor": user.actor,
        "force_reason": force_reason,
        "language": current_language(),
        **_LAUNCH_WITH,
    }
    try:
        with transaction_for_console() as session:
            facts = _facts(session)
            preview = launch_wave(session, name, runtime, dry_run=True, facts=facts, **options)
            if _people_digest(preview.person_ids) != request.form.get("people", ""):
                raise EnvolError(t("refusal.people_changed"))
            result = launch_wave(session, name, runtime, facts=facts, **options)
    except EnvolError as error:
        return _confirm_page(name, 409, **refusal(error))
    return done("console.invitations", "wave_launched", n=len(result.person_ids))


@blueprint.post("/waves/<name>/override")
@acting
def wave_override(name: str) -> Any:
    user = load_user()
    assert user is not None
    reason = request.form.get("reason", "")
    if len(reason) > 2000:
        abort(400)
    if not reason.strip():
        return _waves_page(409, error=t("refusal.override_reason"), focus_wave=name)
    try:
        with transaction_for_console() as session:
            override_gate(session, name, reason=reason, actor=user.actor)
    except EnvolError as error:
        return _waves_page(409, **refusal(error), focus_wave=name)
    return done("console.waves", "gate_overridden")
