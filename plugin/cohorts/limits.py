"""The server's limits a wave must fit in, read from Mattermost itself."""

from __future__ import annotations

from plugin.cohorts.service import ServerLimits
from plugin.mattermost import Forbidden, MattermostClient


def limits_from_server(client: MattermostClient, *, joined_from_roster: int = 0) -> ServerLimits:
    """``TeamSettings.MaxUsersPerTeam`` and the user caps (``/limits/server``), or unknown
    (``None``) where this token may not read them. Preflight reads the same, and judges the
    user cap with the same rule (``ServerLimits.user_cap_problem``).

    ``joined_from_roster`` (people of the waves already on Mattermost) is taken off the
    server's active users: ``list_waves`` counts them with their waves already."""
    try:
        config = client.get_config()
        per_team = (config.get("TeamSettings") or {}).get("MaxUsersPerTeam")
    except Forbidden:
        per_team = None
    server = client.get_server_limits()
    cap = soft = None
    active = 0
    if server is not None:
        # app/limits.go refuses a new account once the active users *exceed* the hard limit,
        # so the limit itself plus one more fit (Mattermost 9.11+: 5,000 soft / 11,000 hard).
        cap = int(server.max_users_hard_limit) + 1 if server.max_users_hard_limit else None
        soft = int(server.max_users_limit) if server.max_users_limit else None
        active = max(0, int(server.active_user_count or 0) - joined_from_roster)
    return ServerLimits(
        max_users_per_team=int(per_team) if per_team else None,
        user_cap=cap,
        users_already_on_server=active,
        soft_user_cap=soft,
    )
