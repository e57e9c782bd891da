"""Signing in with the link ``/envol console`` sent, signing out, the language switch.

``GET /console/signin/<token>`` only shows who the link is for and a button: Mattermost (and
any link preview) fetches URLs it sees in posts, and a GET must not use the link up. The
button POSTs it; the form is bound to a SameSite=Strict cookie set by that GET, so another site
cannot sign a browser in with someone else's link.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Response, abort, make_response, redirect, render_template, request, url_for

from plugin.console.roles import role_of
from plugin.console.signin import (
    SESSION_LIFETIME,
    LinkRefused,
    open_session,
    peek_link,
    redeem_link,
    set_language,
    sign_out,
)
from plugin.console.signin import find_session as find_console_session
from plugin.i18n import pick_language
from webhooks.console import blueprint
from webhooks.console.auth import (
    COOKIE,
    check_csrf,
    found,
    load_user,
    secure_cookie,
    security_headers,
    signed_in,
    t,
    transaction_for_console,
)

BINDING_COOKIE = "envol_console_signin"
REFUSED_STATUS = {"used": 409, "expired": 410, "invalid": 400}


def safe_next(value: str | None) -> str:
    """Only a console path: never an open redirect to another site."""
    if value and value.startswith("/console/") and not value.startswith("/console//"):
        return value
    return url_for("console.overview")


def _page(template: str, status: int = 200, **values: Any) -> Response:
    return security_headers(make_response(render_template(template, **values), status))


@blueprint.get("/signin")
def signin_page() -> Any:
    if load_user() is not None and not request.args.get("reason"):
        return redirect(safe_next(request.args.get("next")))
    return _page("console/signin.html", reason=request.args.get("reason", ""))


def _refused(refusal: LinkRefused) -> Response:
    return _page(
        "console/signin.html", status=REFUSED_STATUS[refusal.reason], reason=refusal.reason
    )


@blueprint.get("/signin/<token>")
def signin_confirm(token: str) -> Any:
    with found().context.sessions() as session:
        try:
            holder = peek_link(session, found().signer, token)
        except LinkRefused as refusal:
            return _refused(refusal)
    binding = secrets.token_urlsafe(24)
    response = _page(
        "console/signin_confirm.html",
        token=token,
        username=holder.username,
        binding=binding,
        next=safe_next(request.args.get("next")),
    )
    response.set_cookie(
        BINDING_COOKIE,
        binding,
        max_age=900,
        httponly=True,
        samesite="Strict",
        secure=secure_cookie(),
        path="/console/",
    )
    return response


@blueprint.post("/signin/<token>")
def signin_submit(token: str) -> Any:
    binding = request.cookies.get(BINDING_COOKIE, "")
    given = request.form.get("binding", "")
    if not binding or not hmac.compare_digest(binding.encode(), given.encode()):
        return _page("console/signin.html", status=400, reason="invalid")
    where = found()
    with transaction_for_console() as session:
        try:
            holder = redeem_link(session, where.signer, token)
        except LinkRefused as refusal:
            return _refused(refusal)
        user = where.users.get(holder.user_id, fresh=True)
        role = role_of(where.client, where.runtime, user) if user else None
        if user is None or role is None:
            return _page("console/signin.html", status=403, reason="no_role")
        language = pick_language(
            str(user.get("locale") or ""), default=where.runtime.default_language
        )
        opened = open_session(
            session,
            user_id=holder.user_id,
            username=str(user.get("username") or holder.username),
            role=role,
            language=language,
        )
    response = make_response(redirect(safe_next(request.form.get("next"))))
    response.set_cookie(
        COOKIE,
        opened.cookie_value,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=secure_cookie(),
        path="/console/",
    )
    response.delete_cookie(BINDING_COOKIE, path="/console/")
    return security_headers(response)


@blueprint.post("/signout")
@signed_in
def signout() -> Any:
    user = load_user()
    assert user is not None
    check_csrf(user)
    with transaction_for_console() as session:
        row = find_console_session(session, request.cookies.get(COOKIE))
        if row is not None:
            sign_out(session, row)
    response = make_response(redirect(url_for("console.signin_page", reason="signed_out")))
    response.delete_cookie(COOKIE, path="/console/")
    return security_headers(response)


@blueprint.post("/language")
@signed_in
def switch_language() -> Any:
    user = load_user()
    assert user is not None
    check_csrf(user)
    language = request.form.get("language", "")
    if language not in ("fr", "en"):
        abort(400)
    with transaction_for_console() as session:
        row = find_console_session(session, request.cookies.get(COOKIE))
        if row is not None:
            set_language(session, row, language)
    return redirect(safe_next(request.form.get("next")))


__all__ = ["safe_next", "t"]
