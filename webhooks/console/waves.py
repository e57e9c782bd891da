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
from sqlalchemy import func, select

from plugin.cohorts.gates import CriterionResult, evaluate_gate
from plugin.cohorts.limits import limits_from_server
from plugin.cohorts.models import WaveStatus
from plugin.cohorts.service import (
    ServerLimits,
    launch_wave,
    list_waves,
    override_gate,
    wave_by_name,
)
from plugin.errors import EnvolError
from plugin.invitations.service import plan_wave_invitations
from plugin.metrics.gates import MetricsGateMeasures
from plugin.people.models import Person
from webhooks.console import blueprint
from webhooks.console.auth import acting, found, load_user, signed_in, transaction_for_console
from webhooks.console.pages import done, refusal, render_page

# What ``envol waves launch`` launches with: the gate on the metrics' measures, the invitations
# planned by the invitation engine.
_LAUNCH_WITH: dict[str, Any] = {
    "measures": MetricsGateMeasures(),
    "plan_invitations": plan_wave_invitations,
}


def _limits(session: Any) -> ServerLimits:
    joined = session.scalar(select(func.count(Person.mattermost_user_id))) or 0
    try:
        return limits_from_server(found().client, joined_from_roster=joined)
    except EnvolError:
        return ServerLimits()


def criterion_view(result: CriterionResult) -> dict[str, Any]:
    """A gate criterion for the page: state, and a bar scaled to the criterion's range."""
    if not result.required:
        state = "not_required"
    elif result.measured is None and result.passed:
        state = "first_wave"
    elif result.measured is None:
        state = "not_measured"
    else:
        state = "pass" if result.passed else "fail"
    top = 5.0 if result.criterion.unit == "/5" else 100.0
    return {
        "key": result.criterion.key,
        "unit": result.criterion.unit,
        "measured": result.measured,
        "threshold": result.threshold,
        "state": state,
        "worst_wave": result.worst_wave,
        "pct": 100 * (result.measured or 0) / top,
        "mark": 100 * result.threshold / top if result.required else None,
    }


def _people_digest(person_ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(person_ids))).encode()).hexdigest()


def _waves_page(status: int = 200, **extra: Any) -> Any:
    runtime = found().runtime
    with found().context.sessions() as session:
        limits = _limits(session)
        rows = []
        for summary in list_waves(session, limits):
            gate = None
            if summary.wave.status == WaveStatus.PLANNED:
                gate = evaluate_gate(session, summary.wave, runtime, MetricsGateMeasures())
            rows.append(
                {
                    "summary": summary,
                    "gate": gate,
                    "criteria": [criterion_view(c) for c in gate.criteria] if gate else [],
                }
            )
        return render_page("console/waves.html", status, rows=rows, limits=limits, **extra)


@blueprint.get("/waves")
@signed_in
def waves() -> Any:
    return _waves_page()


def _confirm_page(name: str, status: int = 200, **extra: Any) -> Any:
    user = load_user()
    assert user is not None
    runtime = found().runtime
    with found().context.sessions() as session:
        try:
            wave = wave_by_name(session, name)
            result = launch_wave(
                session, name, runtime, actor=user.actor, dry_run=True, **_LAUNCH_WITH
            )
        except EnvolError as error:
            return _waves_page(409, **refusal(error), focus_wave=name)
        people = list(
            session.scalars(
                select(Person)
                .where(Person.id.in_(result.person_ids))
                .order_by(Person.department, Person.site, Person.last_name, Person.id)
            )
        )
        return render_page(
            "console/wave_launch.html",
            status,
            wave=wave,
            result=result,
            people=people,
            digest=_people_digest(result.person_ids),
            criteria=[criterion_view(c) for c in result.gate.criteria] if result.gate else [],
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
        return _confirm_page(name, 400, error=_mismatch(name))
    runtime = found().runtime
    try:
        with transaction_for_console() as session:
            preview = launch_wave(
                session, name, runtime, actor=user.actor, dry_run=True, **_LAUNCH_WITH
            )
            if _people_digest(preview.person_ids) != request.form.get("people", ""):
                raise EnvolError(
                    "the people of this wave changed since the confirmation page; "
                    "review the list again."
                )
            result = launch_wave(session, name, runtime, actor=user.actor, **_LAUNCH_WITH)
    except EnvolError as error:
        return _confirm_page(name, 409, **refusal(error))
    return done("console.invitations", "wave_launched", n=len(result.person_ids))


def _mismatch(name: str) -> str:
    from webhooks.console.auth import t

    return t("launch.mismatch", name=name)


@blueprint.post("/waves/<name>/override")
@acting
def wave_override(name: str) -> Any:
    user = load_user()
    assert user is not None
    reason = request.form.get("reason", "")
    if len(reason) > 2000:
        abort(400)
    try:
        with transaction_for_console() as session:
            override_gate(session, name, reason=reason, actor=user.actor)
    except EnvolError as error:
        return _waves_page(409, **refusal(error), focus_wave=name)
    return done("console.waves", "gate_overridden")
