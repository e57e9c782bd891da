"""The server's limits a wave must fit in, read from Mattermost itself."""

from __future__ import annotations

from plugin.cohorts.service import ServerLimits
from plugin.mattermost import Forbidden, MattermostClient


def limits_from_server(client: MattermostClient, *, joined_from_roster: int = 0) -> ServerLimits:
    """``TeamSettings.MaxUsersPerTeam`` and the user cap (``/limits/server``), or unknown
    (``None``) where this token may not read them.

    ``joined_from_roster`` (people of the waves already on Mattermost) is taken off the
    server's active users: ``list_waves`` counts them with their waves already."""
    try:
        config = client.get_config()
        per_team = (config.get("TeamSettings") or {}).get("MaxUsersPerTeam")
    except Forbidden:
        per_team = None
    server = client.get_server_limits()
    cap = None
    active = 0
    if server is not None:
        cap = server.max_users_limit or server.max_users_hard_limit or None
        active = max(0, int(server.active_user_count or 0) - joined_from_roster)
    return ServerLimits(
        max_users_per_team=int(per_team) if per_team else None,
        user_cap=int(cap) if cap else None,
        users_already_on_server=active,
    )
