"""``/console/invitations``: the funnel of each wave (planned, sent, accepted, joined, profile
complete), the failures with their reason, and a retry (``retry_failed``, as ``envol
invitations retry-failed``). The funnels refresh themselves every few seconds (htmx)."""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import select

from plugin.cohorts.models import Wave, WaveStatus
from plugin.errors import EnvolError
from plugin.invitations.models import Invitation, InvitationState
from plugin.invitations.service import retry_failed
from plugin.onboarding.funnel import funnel
from plugin.people.models import Person
from webhooks.console import blueprint
from webhooks.console.auth import acting, found, load_user, signed_in, transaction_for_console
from webhooks.console.pages import done, refusal, render_page

FAILURES_SHOWN = 200


def _funnels(session: Any) -> list[Any]:
    runtime = found().runtime
    waves = session.scalars(
        select(Wave).where(Wave.status != WaveStatus.PLANNED).order_by(Wave.position)
    ).all()
    return [funnel(session, runtime, wave.name) for wave in waves]


def _failures(session: Any) -> list[Any]:
    return list(
        session.execute(
            select(Invitation, Person, Wave.name)
            .join(Wave, Wave.id == Invitation.wave_id)
            .outerjoin(Person, Person.id == Invitation.person_id)
            .where(Invitation.state == InvitationState.FAILED)
            .order_by(Invitation.updated_at.desc(), Invitation.id)
            .limit(FAILURES_SHOWN)
        ).tuples()
    )


@blueprint.get("/invitations")
@signed_in
def invitations(status: int = 200, **extra: Any) -> Any:
    with found().context.sessions() as session:
        return render_page(
            "console/invitations.html",
            status,
            funnels=_funnels(session),
            overall=funnel(session, found().runtime),
            failures=_failures(session),
            **extra,
        )


@blueprint.get("/invitations/funnels")
@signed_in
def invitations_funnels() -> Any:
    """The funnels alone, for the page's periodic refresh."""
    with found().context.sessions() as session:
        return render_page("console/_invitation_funnels.html", funnels=_funnels(session))


@blueprint.post("/invitations/retry")
@acting
def invitations_retry() -> Any:
    user = load_user()
    assert user is not None
    wave = request.form.get("wave") or None
    try:
        with transaction_for_console() as session:
            plan = retry_failed(session, actor=user.actor, wave_name=wave)
    except EnvolError as error:
        return invitations(409, **refusal(error))
    return done("console.invitations", "retried", n=len(plan.invitation_ids))
