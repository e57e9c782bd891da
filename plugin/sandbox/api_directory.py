"""What clients list and look up: teams, team members and stats, user search and autocomplete,
channel members, a user's channels in a team.

Mattermost's own JavaScript client (``@mattermost/client``) calls these as soon as it logs in;
each follows the server's handler in ``api4/team.go``, ``api4/user.go`` or ``api4/channel.go``
(permission first, then the lookup, errors with the server's ids).
"""

from __future__ import annotations

from plugin.jsontypes import JSON
from plugin.sandbox.api_people import user_view
from plugin.sandbox.core import AppError, go_atoi, invalid_param, invalid_url_param
from plugin.sandbox.routing import Call, Result, route

USER_SEARCH_DEFAULT_LIMIT = 100  # model.UserSearchDefaultLimit
USER_SEARCH_MAX_LIMIT = 1000  # model.UserSearchMaxLimit


# ---------------------------------------------------------------------------------- teams


@route("GET", "/api/v4/teams")
def list_teams(call: Call) -> Result:
    """``getAllTeams``: list_private_teams and list_public_teams (system admins) see every team;
    a plain user (list_public_teams) the open ones. Sorted by display name."""
    page, per_page = call.page()
    teams = sorted(
        (
            t
            for t in call.state.teams.values()
            if not t["delete_at"] and (call.is_admin or t["allow_open_invite"])
        ),
        key=lambda t: (t["display_name"].lower(), t["id"]),
    )
    window = teams[page * per_page : (page + 1) * per_page]
    if call.flag("include_total_count"):
        return 200, {"teams": window, "total_count": len(teams)}
    return 200, window


@route("GET", "/api/v4/teams/<team_id>/members/<user_id>")
def team_member(call: Call) -> Result:
    """``getTeamMember``: view_team on the team, then the member or 404."""
    team_id, user_id = call.params["team_id"], call.params["user_id"]
    call.require_team_member(team_id)
    member = call.state.team_member(team_id, user_id)
    if member is None:
        raise AppError(
            404,
            "app.team.get_member.missing.app_error",
            "No team member found for that user ID and team ID.",
        )
    return 200, member


@route("GET", "/api/v4/teams/<team_id>/stats")
def team_stats(call: Call) -> Result:
    """``getTeamStats``: members of the team, and those whose account is active."""
    team_id = call.params["team_id"]
    call.require_team_member(team_id)
    call.state.team(team_id)
    members = call.state.team_member_index.get(team_id, set())
    active = sum(1 for uid in members if not call.state.users[uid]["delete_at"])
    return 200, {
        "team_id": team_id,
        "total_member_count": len(members),
        "active_member_count": active,
    }


# ---------------------------------------------------------------------------------- users


def _matches(user: JSON, term: str, *, emails: bool) -> bool:
    """The store's search: every word of the term starts one of the user's names."""
    fields = [user["username"], user["nickname"], user["first_name"], user["last_name"]]
    if emails:
        fields.append(user["email"])
    words = [w for f in fields for w in str(f).lower().replace(".", " ").split()] + [
        str(f).lower() for f in fields
    ]
    return all(any(w.startswith(part) for w in words) for part in term.split())


def _search_term(raw: str) -> str:
    return raw.strip().lower().lstrip("@")


@route("POST", "/api/v4/users/search")
def search_users(call: Call) -> Result:
    """``searchUsers``: a term (required), optional team and channel filters, at most
    ``limit`` (default 100, 1 to 1000) users sorted by username."""
    state = call.state
    body = call.json_object()
    term = body.get("term")
    limit = body.get("limit", 0)
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise invalid_param("props")
    if limit == 0:
        limit = USER_SEARCH_DEFAULT_LIMIT
    if not isinstance(term, str) or not term:
        raise invalid_param("term")
    team_id = str(body.get("team_id") or "")
    not_in_team = str(body.get("not_in_team_id") or "")
    in_channel = str(body.get("in_channel_id") or "")
    not_in_channel = str(body.get("not_in_channel_id") or "")
    if not team_id and not_in_channel:
        raise invalid_param("team_id")
    for channel_id in (in_channel, not_in_channel):
        if channel_id:
            call.require_channel_read(channel_id)
    for tid in (team_id, not_in_team):
        if tid:
            call.require_team_member(tid)
    if limit <= 0 or limit > USER_SEARCH_MAX_LIMIT:
        raise invalid_param("limit")
    emails = call.is_admin or bool(state.setting("PrivacySettings", "ShowEmailAddress"))
    wanted = _search_term(term)
    found = [
        u
        for u in sorted(state.users.values(), key=lambda u: u["username"])
        if (body.get("allow_inactive") is True or not u["delete_at"])
        and (not team_id or state.team_member(team_id, u["id"]))
        and (not not_in_team or not state.team_member(not_in_team, u["id"]))
        and (not in_channel or state.channel_member(in_channel, u["id"]))
        and (not not_in_channel or not state.channel_member(not_in_channel, u["id"]))
        and _matches(u, wanted, emails=emails)
    ]
    return 200, [user_view(call, u) for u in found[:limit]]


@route("GET", "/api/v4/users/autocomplete")
def autocomplete_users(call: Call) -> Result:
    """``autocompleteUsers``: active users whose names (never e-mails) start with ``name``;
    with ``in_channel`` (which needs ``in_team``), the channel's members and, apart, the
    team's other members."""
    state = call.state
    channel_id, team_id = call.arg("in_channel"), call.arg("in_team")
    raw_limit = call.arg("limit")
    limit = USER_SEARCH_DEFAULT_LIMIT if raw_limit == "" else (go_atoi(raw_limit) or 0)
    limit = min(limit, USER_SEARCH_MAX_LIMIT)
    if channel_id:
        call.require_channel_read(channel_id)
    if team_id:
        call.require_team_member(team_id)
    name = _search_term(call.arg("name"))
    people = [
        u
        for u in sorted(state.users.values(), key=lambda u: u["username"])
        if not u["delete_at"] and _matches(u, name, emails=False)
    ]
    if channel_id:
        if not team_id:
            raise AppError(
                500,
                "api.user.autocomplete_users.missing_team_id.app_error",
                "Team id parameter is required to autocomplete by channel.",
            )
        inside = [u for u in people if state.channel_member(channel_id, u["id"])]
        outside = [
            u
            for u in people
            if state.team_member(team_id, u["id"]) and not state.channel_member(channel_id, u["id"])
        ]
        return 200, {
            "users": [user_view(call, u) for u in inside[: max(limit, 0)]],
            "out_of_channel": [user_view(call, u) for u in outside[: max(limit, 0)]],
        }
    if team_id:
        people = [u for u in people if state.team_member(team_id, u["id"])]
    return 200, {"users": [user_view(call, u) for u in people[: max(limit, 0)]]}


# ---------------------------------------------------------------------------------- channels


@route("GET", "/api/v4/channels/<channel_id>/members/<user_id>")
def channel_member(call: Call) -> Result:
    """``getChannelMember``: read_channel on the channel, then the member or 404."""
    channel = call.require_channel_read(call.params["channel_id"])
    member = call.state.channel_member(channel["id"], call.params["user_id"])
    if member is None:
        raise AppError(
            404,
            "app.channel.get_member.missing.app_error",
            "No channel member found for that user ID and channel ID.",
        )
    return 200, member


@route("GET", "/api/v4/users/<user_id>/teams/<team_id>/channels")
def channels_of_user_in_team(call: Call) -> Result:
    """``getChannelsForTeamForUser``: the user themselves (or edit_other_users), view_team;
    the team's channels the user belongs to, with their direct and group messages."""
    user_id, team_id = call.params["user_id"], call.params["team_id"]
    call.require_self_or_admin(user_id)
    call.require_team_member(team_id)
    last_delete_at = go_atoi(call.arg("last_delete_at"))
    if last_delete_at is not None and last_delete_at < 0:
        raise invalid_url_param("last_delete_at")
    include_deleted = call.flag("include_deleted")
    channels = [
        c
        for c in call.state.channels.values()
        if (c["team_id"] == team_id or c["type"] in ("D", "G"))
        and call.state.channel_member(c["id"], user_id) is not None
        and (include_deleted or not c["delete_at"])
    ]
    return 200, sorted(channels, key=lambda c: c["display_name"].lower())
