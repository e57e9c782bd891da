"""Small, frozen results of the adapter's batch verbs (everything else is Mattermost's JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MemberAddResult:
    """One user's outcome in a batched team or channel add."""

    user_id: str
    added: bool
    error_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class InviteResult:
    """One address's outcome in an e-mail invitation request (``graceful=true``)."""

    email: str
    sent: bool
    error_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class ServerLimits:
    """``GET /limits/server``; ``None`` fields mean the server does not report them."""

    max_users_limit: int | None
    max_users_hard_limit: int | None
    active_user_count: int | None
    raw: dict[str, Any]
