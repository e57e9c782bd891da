"""People in the sandbox: a ``AppUser`` (API and WebSocket only) for a user the sandbox holds.

The only bridge between the person and the sandbox's Python API: a token made directly
(``Sandbox.create_token``, where a real server would have the person log in) and the sign-up
from an invitation the sandbox's outbox holds (where a real person reads their mailbox).
"""

from __future__ import annotations

from typing import Any

from plugin.demo.person import AppUser
from plugin.sandbox import Sandbox


def as_user(sandbox: Sandbox, user_id: str) -> AppUser:
    """A person acting as this user over real HTTP and the WebSocket."""
    return AppUser(sandbox.url, user_id, sandbox.create_token(user_id))


def accept_invite(
    sandbox: Sandbox,
    *,
    email: str | None = None,
    invite_id: str | None = None,
    username: str | None = None,
    **profile: Any,
) -> AppUser:
    """Someone signs up from an e-mail invitation (by address) or the team's invite link
    (``invite_id``, then ``email`` too), joins the team, and is then an ``AppUser``."""
    user = sandbox.sign_up_from_invite(
        email=email, invite_id=invite_id, username=username, **profile
    )
    return as_user(sandbox, str(user["id"]))
