"""``/console/invitations``: the funnel of each wave (planned, sent, accepted, joined, profile
complete), the failures with their reason, and a retry (``retry_failed``, as ``envol
invitations retry-failed``). The funnels refresh themselves every few seconds (htmx)."""

from __future__ import annotations

from typing import Any

from flask import request

from plugin.console.queries import failed_invitations, waves_in_order
from plugin.errors import EnvolError
from plugin.invitations.failure_reasons import worded_failure
from plugin.invitations.service import retry_failed
from plugin.onboarding.funnel import funnel
from webhooks.console import blueprint
from webhooks.console.auth import (
    acting,
    current_language,
    found,
    load_user,
    signed_in,
    transaction_for_console,
)
from webhooks.console.pages import done, refusal, render_page

FAILURES_SHOWN = 200


@blueprint.app_template_filter("failure_words")
def failure_words(reason: str | None) -> str:
    """Why an invitation failed, in the signed-in person's language (the server's words kept)."""
    return worded_failure(reason, current_language()) if reason else ""


def _funnels(session: Any) -> list[Any]:
    runtime = found().runtime
    waves = waves_in_order(session, opened_only=True)
    return [funnel(session, runtime, wave.name) for wave in waves]


@blueprint.get("/invitations")
@signed_in
def invitations(status: int = 200, **extra: Any) -> Any:
    with found().context.sessions() as session:
        return render_page(
            "console/invitations.html",
            status,
            funnels=_funnels(session),
            overall=funnel(session, found().runtime),
            failures=failed_invitations(session, FAILURES_SHOWN),
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
