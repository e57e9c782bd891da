"""Who may use the launch console, and how: asked of Mattermost, never stored as a grant.

* ``admin`` — system admins, and the launch team (the ``LaunchTeam`` setting: usernames, or
  ``~channel`` for every member of a channel) may act;
* ``viewer`` — members of the launch committee channel (``CommitteeChannel``) may look;
* anyone else has no role and is refused.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from plugin.errors import EnvolError
from plugin.mattermost import MattermostClient, NotFound
from plugin.settings import RuntimeSettings


class ConsoleRole(enum.StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"


class NoConsoleRole(EnvolError):
    """This Mattermost user may not open the console."""


def _channel_member_ids(client: MattermostClient, team_id: str, channel_name: str) -> set[str]:
    try:
        channel = client.get_channel_by_name(team_id, channel_name)
    except NotFound:
        return set()
    return {str(member.get("user_id")) for member in client.iter_channel_members(channel["id"])}


def role_of(
    client: MattermostClient, settings: RuntimeSettings, user: Mapping[str, Any]
) -> ConsoleRole | None:
    """The console role of ``user`` (a Mattermost user object), or ``None``."""
    if user.get("delete_at") or user.get("is_bot"):
        return None
    if "system_admin" in str(user.get("roles") or "").split():
        return ConsoleRole.ADMIN
    username = str(user.get("username") or "").lower()
    if username and username in settings.launch_team_usernames:
        return ConsoleRole.ADMIN
    channels = settings.launch_team_channels
    try:
        team = client.get_team_by_name(settings.team_name)
    except NotFound:
        return None
    user_id = str(user.get("id") or "")
    for channel in channels:
        if user_id in _channel_member_ids(client, team["id"], channel):
            return ConsoleRole.ADMIN
    if user_id in _channel_member_ids(client, team["id"], settings.committee_channel):
        return ConsoleRole.VIEWER
    return None


def require_role(
    client: MattermostClient, settings: RuntimeSettings, user: Mapping[str, Any]
) -> ConsoleRole:
    """``role_of``, or ``NoConsoleRole`` saying who may."""
    role = role_of(client, settings, user)
    if role is None:
        raise NoConsoleRole(
            f"@{user.get('username')} is neither a system admin, nor in the launch team "
            f"(LaunchTeam setting), nor a member of ~{settings.committee_channel}."
        )
    return role
