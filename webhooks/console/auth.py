"""Who is signed in, what they may do, CSRF, the language: what every console view shares.

The session row (``plugin.console.models.ConsoleSession``) is read once per request into
``g.console``. Pages need a live session (else a redirect to ``/console/signin``); a state
change also needs the CSRF token of the session and asks Mattermost again whether the person
is still an admin of the launch (a viewer, or someone removed from the launch team, is refused
with 403 and nothing changes).
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Response, abort, current_app, g, redirect, request, url_for
from werkzeug.exceptions import HTTPException

from plugin import i18n
from plugin.console.models import ConsoleSession
from plugin.console.roles import ConsoleRole, role_of
from plugin.console.signin import actor_of, find_session
from plugin.db import transaction
from plugin.errors import EnvolError
from webhooks.integration import Integration, integration

log = logging.getLogger(__name__)

COOKIE = "envol_console"
MESSAGES = Path(__file__).with_name("messages.yaml")
View = TypeVar("View", bound=Callable[..., Any])


def t(message: str, language: str | None = None, /, **params: Any) -> str:
    """The console's text ``message`` in the signed-in person's language."""
    return i18n.load_catalogue(MESSAGES).render(message, language or current_language(), **params)


def current_language() -> str:
    user = getattr(g, "console", None)
    if user is not None:
        return str(user.language)
    best = request.accept_languages.best_match(["fr", "en"]) if request else None
    return best or "fr"


@dataclass(frozen=True)
class ConsoleUser:
    session_id: int
    user_id: str
    username: str
    role: ConsoleRole
    language: str
    csrf_token: str

    @property
    def actor(self) -> str:
        return actor_of(self.username)

    @property
    def may_act(self) -> bool:
        return self.role == ConsoleRole.ADMIN

    @classmethod
    def of(cls, row: ConsoleSession) -> ConsoleUser:
        return cls(
            row.id, row.user_id, row.username, ConsoleRole(row.role), row.language, row.csrf_token
        )


def found() -> Integration:
    return integration(current_app)


def load_user() -> ConsoleUser | None:
    if "console" in g:
        return cast("ConsoleUser | None", g.console)
    cookie = request.cookies.get(COOKIE)
    user = None
    if cookie:
        with found().context.sessions() as session:
            row = find_session(session, cookie)
            user = ConsoleUser.of(row) if row is not None else None
    g.console = user
    return user


def secure_cookie() -> bool:
    return found().public_url.startswith("https://")


def signed_in(view: View) -> View:
    """A page: needs a live session; GETs without one go to the sign-in page."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if load_user() is None:
            if request.method == "GET":
                return redirect(url_for("console.signin_page", next=request.full_path))
            abort(401)
        return view(*args, **kwargs)

    return cast(View, wrapper)


def check_csrf(user: ConsoleUser) -> None:
    given = request.form.get("csrf") or request.headers.get("X-CSRF-Token") or ""
    if not given or not hmac.compare_digest(given.encode(), user.csrf_token.encode()):
        log.info("console: refused a POST without a valid CSRF token (@%s)", user.username)
        abort(400, description="csrf")


def acting(view: View) -> View:
    """A state change: a live session, a POST with its CSRF token, and an admin now.

    The role is asked of Mattermost again (not taken from the session): someone removed from
    the launch team since signing in can no longer act.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = load_user()
        if user is None:
            abort(401)
        check_csrf(user)
        if user.role != ConsoleRole.ADMIN or current_role(user) != ConsoleRole.ADMIN:
            log.info("console: @%s may not act (role %s)", user.username, user.role.value)
            abort(403, description="viewer")
        return view(*args, **kwargs)

    return cast(View, wrapper)


def current_role(user: ConsoleUser) -> ConsoleRole | None:
    """The role Mattermost gives the person now (fresh user record, no cache)."""
    where = found()
    fresh = where.users.get(user.user_id, fresh=True)
    if fresh is None:
        return None
    try:
        return role_of(where.client, where.runtime, fresh)
    except EnvolError as error:  # Mattermost unreachable: refuse rather than guess
        log.warning("console: could not check @%s's role: %s", user.username, error)
        return None


def security_headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
        "frame-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'",
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def transaction_for_console() -> Any:
    return transaction(found().context.sessions)


def http_error_status(error: HTTPException) -> int:
    return error.code or 400
