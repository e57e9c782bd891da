"""Verifying what Mattermost forwards to Envol.

Mattermost signs nothing it sends to integrations: slash commands carry only a shared token,
and the ``context`` of buttons and the ``state`` of dialogs travel through the user's client,
who can read and change them. So Envol signs what it hands out and checks it on the way back.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Table, delete
from sqlalchemy.orm import Session

from plugin import clock
from plugin.db import insert_unless_present
from plugin.errors import EnvolError
from plugin.security.models import SpentNonce


class RequestRejected(EnvolError):
    """A request that must not be served; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


class StaleRequest(RequestRejected):
    """A genuine button or form (Envol's signature holds) that can no longer be used: people
    meet these, so the webhooks answer them in words, not with a bare status. ``reason`` is
    ``expired`` or ``already_sent``."""

    def __init__(self, message: str, reason: str, status: int) -> None:
        super().__init__(message, status)
        self.reason = reason


def command_token_matches(
    expected_tokens: Iterable[str], form_token: str | None, authorization: str | None
) -> bool:
    """True when the slash command's token (form field or ``Authorization: Token …``) is known.

    Every candidate is compared in constant time, and both places must agree when both are
    present, so a request cannot pass by smuggling a good token into only one of them.
    """
    header_token = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "token" or not value.strip():
            return False
        header_token = value.strip()
    given = [t for t in (form_token, header_token) if t]
    if not given or (len(given) == 2 and not hmac.compare_digest(given[0], given[1])):
        return False
    known = False
    for expected in expected_tokens:
        # No early exit: the time taken does not say which token was close.
        known |= bool(expected) and hmac.compare_digest(expected.encode(), given[0].encode())
    return known


class Signer:
    """Signs button contexts and dialog states, bound to a purpose, a user and a lifetime.

    ``secret_key`` is one key, or the keys of a rotation, current first
    (``DeploySettings.secret_keys``): the current one signs, every one verifies, so buttons
    and forms handed out before ``ENVOL_SECRET_KEY`` changed keep working until they expire."""

    def __init__(self, secret_key: str | Sequence[str]) -> None:
        keys = [secret_key] if isinstance(secret_key, str) else list(secret_key)
        if not keys or not all(keys):
            raise ValueError("a Signer needs at least one non-empty secret key")
        # itsdangerous signs with the last key of the list and verifies with any of them.
        self._serializer = URLSafeTimedSerializer(keys[::-1], salt="envol.integration")

    def sign(
        self,
        purpose: str,
        user_id: str,
        data: Mapping[str, Any] | None = None,
        *,
        single_use: bool = False,
    ) -> str:
        payload = {"p": purpose, "u": user_id, "d": dict(data or {})}
        if single_use:
            payload["n"] = secrets.token_hex(16)
        return str(self._serializer.dumps(payload))

    def verify(
        self,
        token: str,
        *,
        purpose: str,
        user_id: str | None,
        max_age: dt.timedelta,
        session: Session | None = None,
        spend: bool = True,
    ) -> dict[str, Any]:
        """The signed data, or ``RequestRejected``. ``user_id=None`` accepts any user (a poll
        button is shown to everyone in a channel; who clicked comes from Mattermost).

        ``spend=False`` checks a single-use token without using it up: refused if already
        spent, still usable afterwards (a page that asks to confirm before acting)."""
        if not isinstance(token, str) or len(token) > 4096:
            raise RequestRejected("malformed signature", status=400)
        try:
            payload, signed_at = self._serializer.loads(
                token, max_age=int(max_age.total_seconds()), return_timestamp=True
            )
        except SignatureExpired as error:
            raise StaleRequest(
                "this form or button has expired; run the command again", "expired", 401
            ) from error
        except BadSignature as error:
            raise RequestRejected("invalid signature") from error
        if payload.get("p") != purpose:
            raise RequestRejected("signature made for another purpose")
        if user_id is not None and payload.get("u") != user_id:
            # Buttons and forms signed for one person reach only that person's client: another
            # user holding one has taken it from somewhere.
            raise RequestRejected("signature made for another user", status=403)
        nonce = payload.get("n")
        if nonce:
            if session is None:
                raise ValueError("a single-use token needs a session to be spent")
            if not spend:
                if session.get(SpentNonce, nonce) is not None:
                    raise RequestRejected("this form was already submitted", status=409)
            else:
                _spend(session, nonce, signed_at + max_age)
        data: dict[str, Any] = payload.get("d", {})
        return data


# Spends the nonce, or does nothing when it was spent already (its row count says which).
_SPEND = insert_unless_present(cast(Table, SpentNonce.__table__), ("nonce", "expires_at"), "nonce")


def _spend(session: Session, nonce: str, expires_at: dt.datetime) -> None:
    spent = session.execute(_SPEND, {"nonce": nonce, "expires_at": expires_at.astimezone(dt.UTC)})
    if not getattr(spent, "rowcount", 0):
        raise StaleRequest("this form was already submitted", "already_sent", 409)


def purge_spent_nonces(session: Session) -> int:
    result = session.execute(delete(SpentNonce).where(SpentNonce.expires_at < clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)
