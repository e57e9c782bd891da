"""Users, bots, statuses, preferences, access tokens, teams, team members and invitations."""

from __future__ import annotations

import hmac
import json
import re
import time
import weakref
from typing import Any

from werkzeug.wrappers import Response

from plugin.jsontypes import JSON
from plugin.sandbox.core import AppError, forbidden, invalid_body_param, invalid_param, now_ms
from plugin.sandbox.limits import TokenBucket
from plugin.sandbox.routing import Call, Result, route, status_ok

MAX_ADD_MEMBERS_BATCH = 256
INVITE_BUCKET = TokenBucket(capacity=20, period=3600.0)  # 20 invite e-mails per hour per sender
PATCHABLE_USER_FIELDS = (
    "username",
    "nickname",
    "first_name",
    "last_name",
    "position",
    "email",
    "props",
    "notify_props",
    "locale",
    "timezone",
)


def user_view(call: Call, user: JSON) -> JSON:
    shown = dict(user)
    if not call.is_admin and shown["id"] != call.user_id:
        if not call.state.setting("PrivacySettings", "ShowEmailAddress"):
            shown["email"] = ""
        shown.pop("notify_props", None)
    return shown


# ---------------------------------------------------------------------------------- users


@route("GET", "/api/v4/users/<user_id>")
def get_user(call: Call) -> Result:
    return 200, user_view(call, call.state.user(call.user_param()))


@route("GET", "/api/v4/users")
def list_users(call: Call) -> Result:
    state = call.state
    page, per_page = call.page()
    in_team, not_in_team = call.arg("in_team"), call.arg("not_in_team")
    in_channel, not_in_channel = call.arg("in_channel"), call.arg("not_in_channel")
    if in_team:
        call.require_team_member(in_team)
    if in_channel:
        call.require_channel_read(in_channel)
    users = sorted(state.users.values(), key=lambda u: u["username"])
    selected = [
        u
        for u in users
        if (not in_team or state.team_member(in_team, u["id"]))
        and (not not_in_team or not state.team_member(not_in_team, u["id"]))
        and (not in_channel or state.channel_member(in_channel, u["id"]))
        and (not not_in_channel or not state.channel_member(not_in_channel, u["id"]))
        and (not call.flag("active") or not u["delete_at"])
        and (not call.flag("inactive") or u["delete_at"])
    ]
    window = selected[page * per_page : (page + 1) * per_page]
    return 200, [user_view(call, u) for u in window]


@route("POST", "/api/v4/users/ids")
def users_by_ids(call: Call) -> Result:
    ids = call.json_list("user_ids")
    since = call.int_arg("since", 0)
    found = [
        call.state.users[i]
        for i in dict.fromkeys(ids)
        if isinstance(i, str) and i in call.state.users
    ]
    return 200, [user_view(call, u) for u in found if u["update_at"] > since or not since]


@route("POST", "/api/v4/users/usernames")
def users_by_usernames(call: Call) -> Result:
    names = {str(n).lower() for n in call.json_list("usernames")}
    return 200, [user_view(call, u) for u in call.state.users.values() if u["username"] in names]


@route("GET", "/api/v4/users/email/<email>")
def user_by_email(call: Call) -> Result:
    email = call.params["email"].lower()
    for user in call.state.users.values():
        if user["email"] == email:
            return 200, user_view(call, user)
    raise AppError(404, "app.user.missing_account.const", "Unable to find the user.")


@route("GET", "/api/v4/users/username/<username>")
def user_by_username(call: Call) -> Result:
    name = call.params["username"].lower()
    for user in call.state.users.values():
        if user["username"] == name:
            return 200, user_view(call, user)
    raise AppError(404, "app.user.missing_account.const", "Unable to find the user.")


@route("POST", "/api/v4/users", auth=False)
def create_user(call: Call) -> Result:
    state = call.state
    body = call.json_object()
    token, invite_id = call.arg("t"), call.arg("iid")
    join_team = ""
    if token:
        invite = state.invite_tokens.get(token)
        if invite is None or invite["expires_at"] < now_ms():
            raise AppError(
                400,
                "api.user.create_user.signup_link_invalid.app_error",
                "The signup link does not appear to be valid.",
            )
        if str(body.get("email", "")).lower() != invite["email"]:
            raise AppError(
                400,
                "api.user.create_user.accepted_domain.app_error",
                "The email you provided does not match the invitation.",
            )
        join_team = invite["team_id"]
    elif invite_id:
        team = next((t for t in state.teams.values() if t["invite_id"] == invite_id), None)
        if team is None:
            raise AppError(
                400,
                "api.user.create_user.signup_link_invalid.app_error",
                "The signup link does not appear to be valid.",
            )
        join_team = team["id"]
    elif not call.is_admin and not state.setting("TeamSettings", "EnableOpenServer"):
        raise AppError(
            403,
            "api.user.create_user.no_open_server",
            "This server does not allow open signups. Please speak with your "
            "Administrator to receive an invitation.",
        )
    for required in ("email", "username"):
        if not isinstance(body.get(required), str) or not body[required]:
            raise invalid_body_param(required)
    user = state.create_user(
        username=body["username"],
        email=body["email"],
        password=str(body.get("password", "")),
        first_name=str(body.get("first_name", "")),
        last_name=str(body.get("last_name", "")),
        nickname=str(body.get("nickname", "")),
        position=str(body.get("position", "")),
        locale=str(body.get("locale") or "en"),
        props=body.get("props") or {},
    )
    if join_team:
        state.add_team_member(join_team, user["id"])
        if token:
            state.invite_tokens.pop(token, None)
    return 201, user_view(call, user)


def _login_refused() -> AppError:
    # api4/user.go login masks every error but a few into this one (the stock server signs in
    # with e-mail or username).
    return AppError(
        401,
        "api.user.login.invalid_credentials_email_username",
        "Enter a valid email or username and/or password.",
    )


@route("POST", "/api/v4/users/login", auth=False)
def login(call: Call) -> Result:
    """``login``: ``login_id`` (e-mail or username) or ``id``, and ``password``; the session
    token comes back in the ``Token`` header, the user (200) in the body."""
    state = call.state
    body = call.json()
    props = body if isinstance(body, dict) else {}
    user_id, login_id = str(props.get("id") or ""), str(props.get("login_id") or "").lower()
    password = props.get("password")
    user = state.users.get(user_id) if user_id else None
    if user is None and login_id:
        by_email = state.setting("EmailSettings", "EnableSignInWithEmail")
        by_username = state.setting("EmailSettings", "EnableSignInWithUsername")
        user = next(
            (
                u
                for u in state.users.values()
                if (by_email and u["email"] == login_id)
                or (by_username and u["username"] == login_id)
            ),
            None,
        )
    if user is None:
        raise _login_refused()
    if not isinstance(password, str) or not password:
        raise AppError(
            400, "api.user.login.blank_pwd.app_error", "Password field must not be blank"
        )
    if user["is_bot"]:
        raise AppError(
            401, "api.user.login.bot_login_forbidden.app_error", "Bot login is forbidden."
        )
    if user["delete_at"]:
        raise AppError(
            401,
            "api.user.login.inactive.app_error",
            "Login failed because your account has been deactivated.  Please contact an "
            "administrator.",
        )
    if not hmac.compare_digest(state.passwords.get(user["id"], "").encode(), password.encode()):
        raise _login_refused()
    token = state.new_token(user["id"])
    state.touch(user["id"])
    response = Response(
        json.dumps(user_view(call, user), separators=(",", ":")),
        200,
        content_type="application/json",
    )
    response.headers["Token"] = token
    return response


ROLE_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
# model.NewSystemRoleIDs: assigning one needs a licence with custom permission schemes.
LICENSED_SYSTEM_ROLES = frozenset(
    {"system_user_manager", "system_read_only_admin", "system_manager", "system_custom_group_admin"}
)


@route("PUT", "/api/v4/users/<user_id>/roles")
def update_user_roles(call: Call) -> Result:
    """``updateUserRoles``: valid role names (``system_admin`` alone is refused: it must come
    with ``system_user``), manage_roles (system admins); bots too, so a bot can be made a
    system admin over the API."""
    props = call.json()
    roles = props.get("roles") if isinstance(props, dict) else None
    names = str(roles).split() if isinstance(roles, str) else []
    if (
        not isinstance(roles, str)
        or not all(ROLE_NAME.match(n) for n in names)
        or names == ["system_admin"]
    ):
        raise invalid_param("roles")
    if LICENSED_SYSTEM_ROLES & set(names) and not call.state.licensed:
        raise AppError(
            400,
            "api.user.update_user_roles.license.app_error",
            "Your license does not support assigning system roles other than system admin.",
        )
    call.require_admin("manage_roles")
    user = call.state.user(call.params["user_id"])
    user["roles"] = " ".join(names)
    user["update_at"] = now_ms()
    return status_ok()


@route("PUT", "/api/v4/users/<user_id>/patch")
def patch_user(call: Call) -> Result:
    user_id = call.user_param()
    call.require_self_or_admin(user_id)
    user = call.state.user(user_id)
    patch = call.json_object()
    for key in PATCHABLE_USER_FIELDS:
        if key in patch:
            value = patch[key]
            if key in ("username", "email"):
                value = str(value).lower()
                clash = any(
                    u[key] == value and u["id"] != user_id for u in call.state.users.values()
                )
                if clash:
                    raise AppError(
                        400,
                        f"app.user.save.{key}_exists.app_error",
                        f"An account with that {key} already exists.",
                    )
            user[key] = value
    user["update_at"] = now_ms()
    return 200, user_view(call, user)


def _refuse_too_large(call: Call, content: bytes, error_id: str) -> None:
    """413 above ``FileSettings.MaxFileSize``, as the server refuses an image that is too large."""
    limit = int(call.state.setting("FileSettings", "MaxFileSize") or 0)
    if limit and len(content) > limit:
        raise AppError(413, error_id, "Unable to upload file. File is too large.")


@route("POST", "/api/v4/users/<user_id>/image")
def set_profile_image(call: Call) -> Result:
    user_id = call.user_param()
    call.require_self_or_admin(user_id)
    user = call.state.user(user_id)
    upload = call.request.files.get("image")
    if upload is None:
        raise AppError(
            400,
            "api.user.upload_profile_user.no_file.app_error",
            "No file under 'image' in request.",
        )
    content = upload.read()
    _refuse_too_large(call, content, "api.user.upload_profile_user.too_large.app_error")
    call.state.profile_images[user_id] = content
    user["last_picture_update"] = now_ms()
    user["update_at"] = now_ms()
    return status_ok()


@route("GET", "/api/v4/users/<user_id>/teams")
def user_teams(call: Call) -> Result:
    user_id = call.user_param()
    call.require_self_or_admin(user_id, "sysconsole_read_user_management_users")
    state = call.state
    teams = [
        state.teams[tid]
        for (tid, uid), m in state.team_members.items()
        if uid == user_id and not m["delete_at"]
    ]
    return 200, teams


@route("POST", "/api/v4/users/status/ids")
def statuses_by_ids(call: Call) -> Result:
    ids = call.json_list("user_ids")
    now = now_ms()  # one moment for the whole answer (and one clock reading, not one a user)
    state = call.state
    return 200, [state.status_of(i, now) for i in dict.fromkeys(ids) if i in state.users]


@route("POST", "/api/v4/users/<user_id>/tokens")
def create_access_token(call: Call) -> Result:
    state = call.state
    if not state.setting("ServiceSettings", "EnableUserAccessTokens"):
        raise AppError(
            501,
            "api.user.create_user_access_token.disabled",
            "Personal access tokens are disabled on this server. Please contact "
            "your system administrator for details.",
        )
    user_id = call.user_param()
    call.require_admin("create_user_access_token")
    state.user(user_id)
    body = call.json_object()
    token = state.new_token(user_id)
    record: dict[str, Any] = {
        "id": state.ids.new_id(),
        "token": token,
        "user_id": user_id,
        "description": str(body.get("description", "")),
        "is_active": True,
    }
    state.access_tokens[record["id"]] = record
    return 201, record


# ---------------------------------------------------------------------------------- bots


def bot_view(bot: JSON) -> JSON:
    return dict(bot)


@route("POST", "/api/v4/bots")
def create_bot(call: Call) -> Result:
    state = call.state
    if not state.setting("ServiceSettings", "EnableBotAccountCreation"):
        raise AppError(403, "api.bot.create_disabled", "Bot creation has been disabled.")
    call.require_admin("create_bot")
    body = call.json_object()
    if not isinstance(body.get("username"), str):
        raise invalid_body_param("username")
    bot = create_bot_account(
        call,
        body["username"],
        str(body.get("display_name", "")),
        str(body.get("description", "")),
        owner_id=call.user_id,
    )
    return 201, bot_view(bot)


def create_bot_account(
    call: Call, username: str, display_name: str, description: str, owner_id: str
) -> JSON:
    return call.sandbox.create_bot(
        username=username, display_name=display_name, description=description, owner_id=owner_id
    )


@route("POST", "/api/v4/bots/<bot_user_id>/disable")
def disable_bot(call: Call) -> Result:
    """``disableBot``: the bot and its user are deactivated; its tokens stop working."""
    call.require_admin("manage_bots")
    bot = call.state.bots.get(call.params["bot_user_id"])
    if bot is None:
        raise AppError(404, "store.sql_bot.get.missing.app_error", "Bot does not exist.")
    bot["delete_at"] = bot["update_at"] = now_ms()
    user = call.state.user(bot["user_id"])
    user["delete_at"] = user["update_at"] = bot["delete_at"]
    _revoke_sessions(call, bot["user_id"])
    return 200, bot_view(bot)


@route("DELETE", "/api/v4/users/<user_id>")
def deactivate_user(call: Call) -> Result:
    """``deleteUser`` without ``permanent``: the account is deactivated (``delete_at`` set) and
    its sessions and tokens revoked, as the server does; admins only for others."""
    user_id = call.user_param()
    call.require_self_or_admin(user_id, "manage_system")
    user = call.state.user(user_id)
    user["delete_at"] = user["update_at"] = now_ms()
    _revoke_sessions(call, user_id)
    return status_ok()


def _revoke_sessions(call: Call, user_id: str) -> None:
    state = call.state
    for token in [t for t, uid in state.tokens.items() if uid == user_id]:
        del state.tokens[token]


@route("GET", "/api/v4/bots")
def list_bots(call: Call) -> Result:
    call.require_admin("read_bots")
    page, per_page = call.page()
    bots = sorted(call.state.bots.values(), key=lambda b: b["create_at"])
    if not call.flag("include_deleted"):
        bots = [b for b in bots if not b["delete_at"]]
    return 200, [bot_view(b) for b in bots[page * per_page : (page + 1) * per_page]]


@route("GET", "/api/v4/bots/<bot_user_id>")
def get_bot(call: Call) -> Result:
    call.require_admin("read_bots")
    bot = call.state.bots.get(call.params["bot_user_id"])
    if bot is None:
        raise AppError(404, "store.sql_bot.get.missing.app_error", "Bot does not exist.")
    return 200, bot_view(bot)


# ---------------------------------------------------------------------------------- preferences


@route("GET", "/api/v4/users/<user_id>/preferences")
def get_preferences(call: Call) -> Result:
    user_id = call.user_param()
    call.require_self_or_admin(user_id)
    return 200, [p for (uid, _, _), p in call.state.preferences.items() if uid == user_id]


@route("PUT", "/api/v4/users/<user_id>/preferences")
def save_preferences(call: Call) -> Result:
    user_id = call.user_param()
    call.require_self_or_admin(user_id)
    preferences = call.json_list("preferences")
    if len(preferences) > 100:
        raise invalid_body_param("preferences")
    for item in preferences:
        if not isinstance(item, dict) or item.get("user_id") != user_id:
            raise AppError(
                403,
                "api.preference.update_preferences.set_details.app_error",
                "Unable to set preference details.",
            )
        category, name = str(item.get("category", "")), str(item.get("name", ""))
        call.state.preferences[(user_id, category, name)] = {
            "user_id": user_id,
            "category": category,
            "name": name,
            "value": str(item.get("value", "")),
        }
    return status_ok()


# ---------------------------------------------------------------------------------- teams


@route("POST", "/api/v4/teams")
def create_team(call: Call) -> Result:
    body = call.json_object()
    for required in ("name", "display_name", "type"):
        if not isinstance(body.get(required), str):
            raise invalid_body_param(required)
    team = call.state.create_team(
        name=body["name"],
        display_name=body["display_name"],
        type=body["type"],
        creator_id=call.require_user(),
        description=str(body.get("description", "")),
        allowed_domains=str(body.get("allowed_domains", "")),
    )
    return 201, team


@route("GET", "/api/v4/teams/<team_id>")
def get_team(call: Call) -> Result:
    team = call.state.team(call.params["team_id"])
    if not team["allow_open_invite"]:
        call.require_team_member(team["id"])
    return 200, team


@route("GET", "/api/v4/teams/name/<name>")
def team_by_name(call: Call) -> Result:
    for team in call.state.teams.values():
        if team["name"] == call.params["name"]:
            if not team["allow_open_invite"]:
                call.require_team_member(team["id"])
            return 200, team
    raise AppError(
        404, "app.team.get_by_name.missing.app_error", "Unable to find the existing team."
    )


@route("DELETE", "/api/v4/teams/<team_id>")
def archive_team(call: Call) -> Result:
    """``softDeleteTeam``: the team is archived (``delete_at`` set), manage_team."""
    team = call.state.team(call.params["team_id"])
    call.require_admin("manage_team")
    team["delete_at"] = team["update_at"] = now_ms()
    return status_ok()


@route("PUT", "/api/v4/teams/<team_id>/patch")
def patch_team(call: Call) -> Result:
    team = call.state.team(call.params["team_id"])
    call.require_team_admin(team["id"])
    patch = call.json_object()
    for key in (
        "display_name",
        "description",
        "company_name",
        "allowed_domains",
        "invite_id",
        "allow_open_invite",
        "group_constrained",
    ):
        if key in patch:
            team[key] = patch[key]
    team["update_at"] = now_ms()
    return 200, team


@route("POST", "/api/v4/teams/<team_id>/image")
def set_team_icon(call: Call) -> Result:
    team = call.state.team(call.params["team_id"])
    call.require_team_admin(team["id"])
    upload = call.request.files.get("image")
    if upload is None:
        raise AppError(
            400, "api.team.set_team_icon.no_file.app_error", "No file under 'image' in request."
        )
    content = upload.read()
    _refuse_too_large(call, content, "api.team.set_team_icon.too_large.app_error")
    call.state.team_icons[team["id"]] = content
    team["last_team_icon_update"] = now_ms()
    return status_ok()


# Member set (by id) → (its size when sorted, its user ids sorted). Mattermost pages a team's
# members by user id (``SqlTeamStore.GetMembers``: ORDER BY UserId). Scanning every membership
# for each page of 200 cost 12 ms a page at 100,000 members (5.8 s a metrics snapshot), sorting
# the team for each page 40 ms; so the sorted ids are kept while the team's membership stays as
# it is. The sandbox only ever adds members (no route ends a membership: every membership's
# ``delete_at`` is 0), so the size of the team's ``team_member_index`` set tells when it
# changed. An entry goes with its set (a weak reference: a stopped sandbox leaves nothing
# behind). Handlers run under the state lock.
_sorted_member_ids: dict[int, tuple[int, list[str]]] = {}


def _member_ids_by_user_id(call: Call, team_id: str) -> list[str]:
    members = call.state.team_member_index.get(team_id)
    if not members:
        return []
    cached = _sorted_member_ids.get(id(members))
    if cached is not None and cached[0] == len(members):
        return cached[1]
    if cached is None:
        weakref.finalize(members, _sorted_member_ids.pop, id(members), None)
    ordered = sorted(members)
    _sorted_member_ids[id(members)] = (len(members), ordered)
    return ordered


@route("GET", "/api/v4/teams/<team_id>/members")
def team_members(call: Call) -> Result:
    team_id = call.params["team_id"]
    call.state.team(team_id)
    call.require_team_member(team_id)
    page, per_page = call.page()
    page_ids = _member_ids_by_user_id(call, team_id)[page * per_page : (page + 1) * per_page]
    return 200, [call.state.team_members[(team_id, user_id)] for user_id in page_ids]


def _may_add_to_team(call: Call, team_id: str, user_id: str) -> None:
    team = call.state.team(team_id)
    if call.is_admin:
        return
    if user_id == call.user_id and team["allow_open_invite"]:
        return
    if call.state.team_member(team_id, call.user_id) is None:
        raise forbidden("add_user_to_team")


@route("POST", "/api/v4/teams/<team_id>/members")
def add_team_member(call: Call) -> Result:
    team_id = call.params["team_id"]
    body = call.json_object()
    if body.get("team_id") != team_id or not isinstance(body.get("user_id"), str):
        raise invalid_body_param("team_member")
    _may_add_to_team(call, team_id, body["user_id"])
    return 201, call.state.add_team_member(team_id, body["user_id"])


@route("POST", "/api/v4/teams/<team_id>/members/batch")
def add_team_members(call: Call) -> Result:
    team_id = call.params["team_id"]
    members = call.json_list("members")
    if not members or len(members) > MAX_ADD_MEMBERS_BATCH:
        raise AppError(
            400,
            "api.context.invalid_body_param.app_error",
            f"Invalid or missing members in request body (at most "
            f"{MAX_ADD_MEMBERS_BATCH} per request).",
        )
    call.state.team(team_id)
    graceful = call.given("graceful")
    results: list[JSON] = []
    added: list[JSON] = []
    for item in members:
        user_id = item.get("user_id") if isinstance(item, dict) else None
        if not isinstance(user_id, str) or item.get("team_id") != team_id:
            raise invalid_body_param("team_members")
        try:
            _may_add_to_team(call, team_id, user_id)
            member = call.state.add_team_member(team_id, user_id)
        except AppError as error:
            if not graceful:
                raise
            results.append(
                {"member": None, "user_id": user_id, "error": error.body(call.request_id)}
            )
            continue
        added.append(member)
        results.append({"member": member, "user_id": user_id, "error": None})
    return 201, results if graceful else added


@route("GET", "/api/v4/teams/invite/<invite_id>", auth=False)
def invite_info(call: Call) -> Result:
    for team in call.state.teams.values():
        if team["invite_id"] == call.params["invite_id"] and team["allow_open_invite"]:
            return 200, {
                "id": team["id"],
                "name": team["name"],
                "display_name": team["display_name"],
                "description": team["description"],
            }
    raise AppError(
        400,
        "api.team.get_invite_info.not_open_team",
        "Invite is invalid because this is not an open team.",
    )


EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@route("POST", "/api/v4/teams/<team_id>/invite/email")
def invite_by_email(call: Call) -> Result:
    state = call.state
    team_id = call.params["team_id"]
    team = state.team(team_id)
    if not state.setting("ServiceSettings", "EnableEmailInvitations"):
        raise AppError(
            501, "api.team.invite_members.disabled.app_error", "Email invitations are disabled."
        )
    sender = call.require_user()
    if not call.is_admin and state.team_member(team_id, sender) is None:
        raise forbidden("invite_user")
    body = call.json()
    # Newer servers parse model.MemberInvite {emails, channel_ids, message}; older an array.
    emails = body.get("emails") if isinstance(body, dict) else body
    if not isinstance(emails, list) or not emails or not all(isinstance(e, str) for e in emails):
        raise invalid_body_param("emails")
    emails = [e.lower() for e in emails]
    # The sender's e-mail budget is taken for the whole request at once, or not at all.
    allowed, level = INVITE_BUCKET.take(
        state.invite_buckets.get(sender), len(emails), now_ms() / 1000
    )
    state.invite_buckets[sender] = level
    if not allowed:
        raise AppError(
            413,
            "app.email.rate_limit_exceeded.app_error",
            "Invite emails rate limit exceeded. Timer will be reset after 1 hour. "
            "Please try again after that time.",
        )
    domains = [d.strip() for d in re.split(r"[,\s]+", team["allowed_domains"].lower()) if d]
    results: list[JSON] = []
    for email in emails:
        problem = None
        if not EMAIL_PATTERN.match(email):
            problem = AppError(
                400,
                "api.team.invite_members.invalid_email.app_error",
                f"The following email addresses are invalid: {email}",
            )
        elif domains and email.rsplit("@", 1)[1] not in domains:
            problem = AppError(
                400,
                "api.team.invite_members.invalid_email.app_error",
                "The following email addresses do not belong to an accepted "
                f"domain: {email}. Please contact your System Administrator.",
            )
        if problem is not None:
            if not call.given("graceful"):
                raise problem
            results.append({"email": email, "error": problem.body(call.request_id)})
            continue
        token = state.ids.new_id() + state.ids.new_id()
        state.invite_tokens[token] = {
            "email": email,
            "team_id": team_id,
            "expires_at": now_ms() + 48 * 3600 * 1000,
        }
        state.sent_invites.append(
            {
                "email": email,
                "team_id": team_id,
                "sender_id": sender,
                "token": token,
                "at": now_ms(),
                "time": time.time(),
            }
        )
        results.append({"email": email, "error": None})
    if call.given("graceful"):
        return 200, results
    return status_ok()
