"""Single-use sign-in links and the sessions they open.

A link carries an itsdangerous token (``plugin.security.Signer``): signed with the deploy's
secret key, bound to the Mattermost user, with its own expiry (10 minutes unless asked
otherwise) and a nonce spent in ``spent_nonce`` the first time it is used, so a link opens one
session and no more. The session's cookie holds a random key whose hash only is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.service import record
from plugin.console.models import ConsoleSession
from plugin.console.roles import ConsoleRole, require_role
from plugin.errors import EnvolError
from plugin.mattermost import MattermostClient
from plugin.security.service import RequestRejected, Signer
from plugin.settings import DeploySettings, RuntimeSettings

LINK_PURPOSE = "console-signin"
DEFAULT_LINK_MINUTES = 10
MAX_LINK_MINUTES = 24 * 60
SESSION_LIFETIME = dt.timedelta(hours=8)
SIGNIN_PATH = "/console/signin/"


class LinkRefused(EnvolError):
    """A sign-in link that cannot be used; ``reason`` is ``used``, ``expired`` or ``invalid``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def actor_of(username: str) -> str:
    """How a console user appears in the audit trail: their Mattermost username."""
    return f"@{username}"


def signin_link(
    signer: Signer,
    public_url: str,
    user_id: str,
    username: str,
    *,
    minutes: int = DEFAULT_LINK_MINUTES,
    next_page: str = "",
) -> str:
    """A single-use link that signs ``user_id`` in, valid ``minutes`` from now, and opens
    ``next_page`` (a ``/console/…`` path) once signed in."""
    if not 1 <= minutes <= MAX_LINK_MINUTES:
        raise EnvolError(f"a sign-in link lasts 1 to {MAX_LINK_MINUTES} minutes, not {minutes}.")
    expires = clock.now() + dt.timedelta(minutes=minutes)
    token = signer.sign(
        LINK_PURPOSE,
        user_id,
        {"user_id": user_id, "username": username, "exp": int(expires.timestamp())},
        single_use=True,
    )
    url = f"{public_url.rstrip('/')}{SIGNIN_PATH}{token}"
    if next_page.startswith("/console/"):
        url += "?" + urlencode({"next": next_page})
    return url


@dataclass(frozen=True)
class LinkHolder:
    user_id: str
    username: str


def peek_link(session: Session, signer: Signer, token: str) -> LinkHolder:
    """Who a link is for, without spending it (the page that asks to confirm the sign-in:
    link previews fetch the URL with a GET, which must not use the link up)."""
    return _read(session, signer, token, spend=False)


def redeem_link(session: Session, signer: Signer, token: str) -> LinkHolder:
    """Spend the link and say whom it signs in; ``LinkRefused`` when used, expired or forged."""
    return _read(session, signer, token, spend=True)


def _read(session: Session, signer: Signer, token: str, *, spend: bool) -> LinkHolder:
    try:
        data = signer.verify(
            token,
            purpose=LINK_PURPOSE,
            user_id=None,
            max_age=dt.timedelta(minutes=MAX_LINK_MINUTES),
            session=session,
            spend=spend,
        )
    except RequestRejected as error:
        if error.status == 409:
            raise LinkRefused("used", "this sign-in link was already used") from error
        if "expired" in str(error):
            raise LinkRefused("expired", "this sign-in link has expired") from error
        raise LinkRefused("invalid", "this sign-in link is not valid") from error
    if not isinstance(data.get("exp"), int) or not data.get("user_id"):
        raise LinkRefused("invalid", "this sign-in link is not valid")
    if clock.now().timestamp() > data["exp"]:
        raise LinkRefused("expired", "this sign-in link has expired")
    return LinkHolder(str(data["user_id"]), str(data.get("username") or ""))


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    cookie_value: str
    row: ConsoleSession


def open_session(
    session: Session, *, user_id: str, username: str, role: ConsoleRole, language: str
) -> OpenedSession:
    """A new console session (8 hours), audited."""
    key = secrets.token_urlsafe(32)
    now = clock.now()
    row = ConsoleSession(
        key_hash=_hash(key),
        user_id=user_id,
        username=username,
        role=role.value,
        language=language if language in ("fr", "en") else "fr",
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor_of(username),
        action="console.signed_in",
        subject_type="console_session",
        subject_id=row.id,
        details={"role": role.value},
    )
    return OpenedSession(key, row)


def find_session(session: Session, cookie_value: str | None) -> ConsoleSession | None:
    """The live session of this cookie, or ``None`` (unknown, expired or signed out)."""
    if not cookie_value or len(cookie_value) > 128:
        return None
    row = session.scalar(
        select(ConsoleSession).where(ConsoleSession.key_hash == _hash(cookie_value))
    )
    if row is None or row.signed_out_at is not None or row.expires_at <= clock.now():
        return None
    return row


def sign_out(session: Session, row: ConsoleSession) -> None:
    row.signed_out_at = clock.now()
    record(
        session,
        actor=actor_of(row.username),
        action="console.signed_out",
        subject_type="console_session",
        subject_id=row.id,
    )


def set_language(session: Session, row: ConsoleSession, language: str) -> None:
    if language not in ("fr", "en"):
        raise EnvolError(f"unknown language {language!r}: fr or en.")
    row.language = language


def revoke_sessions(session: Session, user_id: str) -> int:
    """End every live session of a user (their role was taken away)."""
    result = session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.signed_out_at.is_(None))
        .values(signed_out_at=clock.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge_sessions(session: Session, *, older_than: dt.timedelta = dt.timedelta(days=30)) -> int:
    result = session.execute(
        delete(ConsoleSession).where(ConsoleSession.expires_at < clock.now() - older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def link_for_username(
    client: MattermostClient,
    runtime: RuntimeSettings,
    deploy: DeploySettings,
    username: str,
    *,
    minutes: int = DEFAULT_LINK_MINUTES,
    next_page: str = "",
) -> tuple[str, ConsoleRole]:
    """A sign-in link for the Mattermost user ``username``, after checking they have a console
    role (``NoConsoleRole`` otherwise): ``envol console link`` and the demo call this."""
    user = client.get_user_by_username(username.lstrip("@"))
    role = require_role(client, runtime, user)
    link = signin_link(
        Signer(deploy.secret_key.get_secret_value()),
        deploy.public_url,
        str(user["id"]),
        str(user["username"]),
        minutes=minutes,
        next_page=next_page,
    )
    return link, role
