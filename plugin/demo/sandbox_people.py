"""People in the sandbox: a ``AppUser`` (API and WebSocket only) for a user the sandbox holds.

Shorthands for scenes on the sandbox (tests, benchmarks), through ``SandboxWorld``: a token made
directly (where a real server would have the person log in) and the sign-up from an invitation
the sandbox's outbox holds (where a real person reads their mailbox). The simulated population
takes a ``World`` instead (``plugin.demo.world``), so it runs on a real Mattermost too.
"""

from __future__ import annotations

from typing import Any

from plugin.demo.person import AppUser
from plugin.demo.world import SandboxWorld, app_user
from plugin.sandbox import Sandbox


def as_user(sandbox: Sandbox, user_id: str) -> AppUser:
    """A person acting as this user over real HTTP and the WebSocket."""
    return app_user(SandboxWorld(sandbox), user_id)


def accept_invite(
    sandbox: Sandbox,
    *,
    email: str | None = None,
    invite_id: str | None = None,
    username: str | None = None,
    **profile: Any,
) -> AppUser:
    """Someone signs up from an e-mail invitation (by address: the oldest one sent) or the
    team's invite link (``invite_id``, then ``email`` too), joins the team, and is then an
    ``AppUser``. Raises ``LookupError`` when no e-mail invitation waits for the address and
    ``SignUpFailed`` when the sandbox refuses the sign-up."""
    if email is None:
        raise ValueError("accept_invite needs the e-mail address of the person signing up")
    world = SandboxWorld(sandbox)
    token = None
    if invite_id is None:
        tokens = world.invitation_tokens(email.lower())
        if not tokens:
            raise LookupError(f"no pending e-mail invitation for {email}")
        token = tokens[0][0]
    user_id = world.sign_up(
        email=email,
        username=username or email.split("@")[0].replace("+", "."),
        profile=profile,
        invite_id=invite_id,
        token=token,
    )
    return app_user(world, user_id)
