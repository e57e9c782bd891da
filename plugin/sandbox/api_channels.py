"""Channels, channel members, direct messages, sidebar categories and bookmarks."""

from __future__ import annotations

from typing import Any

from plugin.jsontypes import JSON
from plugin.sandbox.core import (
    AppError,
    forbidden,
    go_atoi,
    invalid_body_param,
    license_error,
    now_ms,
)
from plugin.sandbox.routing import Call, Result, route, status_ok
from plugin.sandbox.state import MAX_BOOKMARKS_PER_CHANNEL

MAX_LIST_SIZE = 1000  # api4/channel.go maxListSize, for user_ids


@route("POST", "/api/v4/channels")
def create_channel(call: Call) -> Result:
    body = call.json_object()
    for required in ("team_id", "name", "display_name", "type"):
        if not isinstance(body.get(required), str):
            raise invalid_body_param(required)
    if body["type"] not in ("O", "P"):
        raise invalid_body_param("type")
    call.state.team(body["team_id"])
    permission = "create_public_channel" if body["type"] == "O" else "create_private_channel"
    call.require_team_member(body["team_id"], permission)
    channel = call.state.create_channel(
        team_id=body["team_id"],
        name=body["name"],
        display_name=body["display_name"],
        type=body["type"],
        creator_id=call.user_id,
        purpose=str(body.get("purpose", "")),
        header=str(body.get("header", "")),
    )
    return 201, channel


@route("GET", "/api/v4/channels/<channel_id>")
def get_channel(call: Call) -> Result:
    return 200, call.require_channel_read(call.params["channel_id"])


@route("GET", "/api/v4/teams/<team_id>/channels/name/<name>")
def channel_by_name(call: Call) -> Result:
    team_id = call.params["team_id"]
    call.state.team(team_id)
    call.require_team_member(team_id)
    for channel in call.state.channels.values():
        if channel["team_id"] == team_id and channel["name"] == call.params["name"]:
            if channel["delete_at"] and not call.flag("include_deleted"):
                break
            return 200, call.require_channel_read(channel["id"])
    raise AppError(404, "app.channel.get_by_name.missing.app_error", "Channel does not exist.")


@route("PUT", "/api/v4/channels/<channel_id>/patch")
def patch_channel(call: Call) -> Result:
    channel = call.require_channel_member(
        call.params["channel_id"], "manage_public_channel_properties"
    )
    patch = call.json_object()
    if "display_name" in patch and not (
        isinstance(patch["display_name"], str) and patch["display_name"]
    ):
        raise invalid_body_param("display_name")
    for key in ("display_name", "name", "header", "purpose"):
        if key in patch:
            channel[key] = patch[key]
    channel["update_at"] = now_ms()
    return 200, channel


@route("DELETE", "/api/v4/channels/<channel_id>")
def archive_channel(call: Call) -> Result:
    channel = call.state.channel(call.params["channel_id"])
    if channel["type"] == "D":
        raise AppError(
            400,
            "api.channel.delete_channel.type.invalid",
            "Unable to delete direct or group message channels",
        )
    if channel["name"] == "town-square":
        raise AppError(
            400,
            "api.channel.delete_channel.cannot.app_error",
            "Unable to delete the default channel town-square",
        )
    call.require_channel_member(channel["id"], "delete_public_channel")
    if channel["delete_at"]:
        raise AppError(
            400,
            "api.channel.delete_channel.deleted.app_error",
            "The channel has been archived or deleted.",
        )
    channel["delete_at"] = channel["update_at"] = now_ms()
    return status_ok()


@route("POST", "/api/v4/channels/<channel_id>/restore")
def restore_channel(call: Call) -> Result:
    channel = call.state.channel(call.params["channel_id"])
    call.require_team_admin(channel["team_id"], "manage_team")
    if not channel["delete_at"]:
        raise AppError(
            400,
            "api.channel.restore_channel.restored.app_error",
            "Unable to unarchive channel. The channel is not archived.",
        )
    channel["delete_at"] = 0
    channel["update_at"] = now_ms()
    return 200, channel


@route("GET", "/api/v4/teams/<team_id>/channels")
def team_channels(call: Call) -> Result:
    team_id = call.params["team_id"]
    call.state.team(team_id)
    call.require_team_member(team_id, "list_team_channels")
    page, per_page = call.page()
    channels = sorted(
        (
            c
            for c in call.state.channels.values()
            if c["team_id"] == team_id and c["type"] == "O" and not c["delete_at"]
        ),
        key=lambda c: c["display_name"].lower(),
    )
    return 200, channels[page * per_page : (page + 1) * per_page]


@route("GET", "/api/v4/teams/<team_id>/channels/private")
def private_team_channels(call: Call) -> Result:
    # ``getPrivateChannelsForTeam``: manage_system only; the store answers the team's
    # private channels that are not archived, by display name (an unknown team: empty list).
    call.require_admin()
    team_id = call.params["team_id"]
    page, per_page = call.page()
    channels = sorted(
        (
            c
            for c in call.state.channels.values()
            if c["team_id"] == team_id and c["type"] == "P" and not c["delete_at"]
        ),
        key=lambda c: c["display_name"].lower(),
    )
    return 200, channels[page * per_page : (page + 1) * per_page]


@route("GET", "/api/v4/teams/<team_id>/channels/deleted")
def deleted_team_channels(call: Call) -> Result:
    # Mattermost 9 checks no permission here (5.x wanted manage_team): the store answers the
    # team's archived public channels, plus the archived private ones the caller belongs to,
    # by display name. An unknown team or a page past the end is an empty list, not a 404.
    team_id = call.params["team_id"]
    page, per_page = call.page()
    channels = sorted(
        (
            c
            for c in call.state.channels.values()
            if c["team_id"] == team_id
            and c["delete_at"]
            and (
                c["type"] == "O"
                or (c["type"] == "P" and call.state.channel_member(c["id"], call.user_id))
            )
        ),
        key=lambda c: c["display_name"].lower(),
    )
    return 200, channels[page * per_page : (page + 1) * per_page]


@route("GET", "/api/v4/channels/<channel_id>/members")
def channel_members(call: Call) -> Result:
    channel = call.require_channel_read(call.params["channel_id"])
    page, per_page = call.page()
    members = [m for (cid, _), m in call.state.channel_members.items() if cid == channel["id"]]
    return 200, members[page * per_page : (page + 1) * per_page]


@route("POST", "/api/v4/channels/<channel_id>/members")
def add_channel_members(call: Call) -> Result:
    state = call.state
    channel = state.channel(call.params["channel_id"])
    body = call.json_object()
    if "user_ids" in body:
        user_ids = body["user_ids"]
        if not isinstance(user_ids, list) or not user_ids or len(user_ids) > MAX_LIST_SIZE:
            raise invalid_body_param("user_ids")
        single = False
    elif isinstance(body.get("user_id"), str):
        user_ids, single = [body["user_id"]], True
    else:
        raise invalid_body_param("user_id")
    if channel["type"] not in ("O", "P"):
        raise AppError(
            400,
            "api.channel.add_user_to_channel.type.app_error",
            "Can not add user to this channel type.",
        )
    if channel["delete_at"]:
        raise AppError(
            400,
            "api.channel.add_user_to_channel.deleted.app_error",
            "The channel has been archived or deleted.",
        )
    others = any(uid != call.user_id for uid in user_ids)
    if not call.is_admin:
        if channel["type"] == "P" or others:
            permission = (
                "manage_private_channel_members"
                if channel["type"] == "P"
                else "manage_public_channel_members"
            )
            if state.channel_member(channel["id"], call.user_id) is None:
                raise forbidden(permission)
        elif state.team_member(channel["team_id"], call.user_id) is None:
            raise forbidden("join_public_channels")
    added: list[JSON] = []
    last_error: AppError | None = None
    for user_id in user_ids:
        if not isinstance(user_id, str):
            raise invalid_body_param("user_ids")
        try:
            added.append(state.add_channel_member(channel["id"], user_id))
        except AppError as error:
            # Per user, failures are skipped; an error only if nobody could be added.
            last_error = error
    if not added and last_error is not None:
        raise last_error
    if single:
        return 201, added[0]
    return 201, added


@route("DELETE", "/api/v4/channels/<channel_id>/members/<user_id>")
def remove_channel_member(call: Call) -> Result:
    state = call.state
    channel = state.channel(call.params["channel_id"])
    user_id = call.user_param()
    state.user(user_id)
    if channel["type"] not in ("O", "P"):
        raise AppError(
            400,
            "api.channel.remove_channel_member.type.app_error",
            "Unable to remove user from a channel.",
        )
    # Leaving needs no permission; removing someone else needs to manage the channel's
    # members, which every channel member has by default (channel_user role).
    others = user_id != call.user_id
    if others and not call.is_admin and state.channel_member(channel["id"], call.user_id) is None:
        raise forbidden(
            "manage_private_channel_members"
            if channel["type"] == "P"
            else "manage_public_channel_members"
        )
    state.remove_channel_member(channel["id"], user_id)
    return status_ok()


@route("POST", "/api/v4/channels/direct")
def direct_channel(call: Call) -> Result:
    ids = call.json_list("user_ids")
    if len(ids) != 2 or not all(isinstance(i, str) for i in ids):
        raise invalid_body_param("user_ids")
    if call.user_id not in ids and not call.is_admin:
        raise forbidden("manage_system")
    return 201, call.state.direct_channel(ids[0], ids[1])


# ---------------------------------------------------------------------------------- categories


def _category_owner(call: Call) -> tuple[str, str]:
    user_id = call.user_param()
    team_id = call.params["team_id"]
    # The real check is "the user themselves, or edit_other_users" (not list_team_channels).
    call.require_self_or_admin(user_id, "edit_other_users")
    call.state.team(team_id)
    if call.state.team_member(team_id, user_id) is None:
        raise forbidden("view_team")
    call.state._default_categories(user_id, team_id)
    return user_id, team_id


def _check_category_channels(call: Call, user_id: str, channel_ids: Any) -> list[str]:
    if not isinstance(channel_ids, list) or not all(isinstance(c, str) for c in channel_ids):
        raise invalid_body_param("channel_ids")
    for channel_id in channel_ids:
        if call.state.channel_member(channel_id, user_id) is None:
            raise AppError(
                400,
                "api.channel.sidebar_categories.validate.app_error",
                "Invalid channel id in sidebar category: the user is not a member.",
            )
    return list(dict.fromkeys(channel_ids))


def _check_category_body(body: JSON, user_id: str, team_id: str) -> None:
    if body.get("user_id") != user_id or body.get("team_id") != team_id:
        raise invalid_body_param("category")


@route("GET", "/api/v4/users/<user_id>/teams/<team_id>/channels/categories")
def list_categories(call: Call) -> Result:
    user_id, team_id = _category_owner(call)
    categories = call.state.categories[(user_id, team_id)]
    ordered = sorted(categories, key=lambda c: c["sort_order"])
    return 200, {"categories": ordered, "order": [c["id"] for c in ordered]}


@route("POST", "/api/v4/users/<user_id>/teams/<team_id>/channels/categories")
def create_category(call: Call) -> Result:
    user_id, team_id = _category_owner(call)
    body = call.json_object()
    _check_category_body(body, user_id, team_id)
    if not isinstance(body.get("display_name"), str) or not body["display_name"]:
        raise invalid_body_param("display_name")
    channel_ids = _check_category_channels(call, user_id, body.get("channel_ids", []))
    categories = call.state.categories[(user_id, team_id)]
    for category in categories:
        if category["type"] != "favorites":
            category["sort_order"] += 10
    # New custom categories go just below Favorites, like the server does.
    category = call.state._category(
        user_id, team_id, "custom", body["display_name"], 10, channel_ids=channel_ids
    )
    categories.append(category)
    call.state.move_channels_to_category(user_id, team_id, category)
    return 200, category


@route("PUT", "/api/v4/users/<user_id>/teams/<team_id>/channels/categories/<category_id>")
def update_category(call: Call) -> Result:
    user_id, team_id = _category_owner(call)
    body = call.json_object()
    _check_category_body(body, user_id, team_id)
    if body.get("id", call.params["category_id"]) != call.params["category_id"]:
        raise invalid_body_param("category_id")
    category = next(
        (
            c
            for c in call.state.categories[(user_id, team_id)]
            if c["id"] == call.params["category_id"]
        ),
        None,
    )
    if category is None:
        raise AppError(404, "app.channel.sidebar_categories.app_error", "Category does not exist.")
    if "channel_ids" in body:
        category["channel_ids"] = _check_category_channels(call, user_id, body["channel_ids"])
    for key in ("sorting", "muted", "collapsed"):
        if key in body:
            category[key] = body[key]
    if category["type"] == "custom" and isinstance(body.get("display_name"), str):
        category["display_name"] = body["display_name"]
    call.state.move_channels_to_category(user_id, team_id, category)
    return 200, category


# ---------------------------------------------------------------------------------- bookmarks


def _bookmark_channel(call: Call, action: str) -> JSON:
    channel = call.require_channel_member(
        call.params["channel_id"], f"{action}_bookmark_public_channel"
    )
    if not call.state.licensed:
        raise license_error("api.channel.bookmark.channel_bookmark.license.error")
    return channel


@route("GET", "/api/v4/channels/<channel_id>/bookmarks")
def list_bookmarks(call: Call) -> Result:
    channel = call.require_channel_read(call.params["channel_id"])
    # web/params.go: a bookmarks_since that is not a number, or negative, is 0.
    since = max(0, go_atoi(call.arg("bookmarks_since")) or 0)
    found = sorted(
        (
            b
            for b in call.state.bookmarks.values()
            if b["channel_id"] == channel["id"] and not b["delete_at"] and b["update_at"] >= since
        ),
        key=lambda b: b["sort_order"],
    )
    return 200, found


@route("POST", "/api/v4/channels/<channel_id>/bookmarks")
def create_bookmark(call: Call) -> Result:
    channel = _bookmark_channel(call, "add")
    body = call.json_object()
    kind = body.get("type")
    if kind not in ("link", "file") or not isinstance(body.get("display_name"), str):
        raise invalid_body_param("bookmark")
    if kind == "link" and not isinstance(body.get("link_url"), str):
        raise invalid_body_param("link_url")
    if kind == "file" and body.get("file_id") not in call.state.files:
        raise invalid_body_param("file_id")
    existing = [
        b
        for b in call.state.bookmarks.values()
        if b["channel_id"] == channel["id"] and not b["delete_at"]
    ]
    if len(existing) >= MAX_BOOKMARKS_PER_CHANNEL:
        raise AppError(
            400,
            "app.channel.bookmark.save.max_limit.app_error",
            f"Cannot add more than {MAX_BOOKMARKS_PER_CHANNEL} bookmarks.",
        )
    stamp = now_ms()
    bookmark: JSON = {
        "id": call.state.ids.new_id(),
        "create_at": stamp,
        "update_at": stamp,
        "delete_at": 0,
        "channel_id": channel["id"],
        "owner_id": call.user_id,
        "file_id": str(body.get("file_id", "")),
        "display_name": body["display_name"],
        "sort_order": len(existing),
        "link_url": str(body.get("link_url", "")),
        "image_url": str(body.get("image_url", "")),
        "emoji": str(body.get("emoji", "")),
        "type": kind,
        "original_id": "",
        "parent_id": "",
    }
    call.state.bookmarks[bookmark["id"]] = bookmark
    return 201, _bookmark_view(call, bookmark)


def _bookmark_view(call: Call, bookmark: JSON) -> JSON:
    shown = dict(bookmark)
    if bookmark["file_id"]:
        shown["file"] = call.state.files[bookmark["file_id"]]
    return shown


@route("PATCH", "/api/v4/channels/<channel_id>/bookmarks/<bookmark_id>")
def patch_bookmark(call: Call) -> Result:
    channel = _bookmark_channel(call, "edit")
    bookmark = call.state.bookmarks.get(call.params["bookmark_id"])
    if bookmark is None or bookmark["channel_id"] != channel["id"] or bookmark["delete_at"]:
        raise AppError(404, "app.channel.bookmark.get.app_error", "Bookmark not found.")
    patch = call.json_object()
    for key in ("display_name", "link_url", "image_url", "emoji", "file_id"):
        if key in patch:
            bookmark[key] = patch[key]
    bookmark["update_at"] = now_ms()
    return 200, {"updated": _bookmark_view(call, bookmark)}
