"""The sandbox's data: Mattermost's objects kept as the JSON the API returns.

One re-entrant lock guards everything; the HTTP layer holds it for a whole request (and while
serialising the answer), so a handler sees and leaves a consistent state. Operations here
enforce Mattermost's data rules (unique names, team caps, membership); permissions are checked
by the HTTP handlers, so Python helpers (``Sandbox.create_user`` …) can set a scene directly.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from plugin.jsontypes import JSON
from plugin.sandbox.core import AppError, IdSource, invalid_param, not_found, now_ms

NAME_PATTERN = re.compile(r"^[a-z0-9]+([a-z0-9\-_]*[a-z0-9]+)?$")
USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9.\-_]{2,21}$")
DEFAULT_CHANNELS = (("town-square", "Town Square"), ("off-topic", "Off-Topic"))
DEFAULT_CHANNEL_NAME = "town-square"  # model.DefaultChannelName: nobody but guests leaves it
MAX_POST_LENGTH = 16383
MAX_BOOKMARKS_PER_CHANNEL = 50


def default_config() -> JSON:
    """The parts of Mattermost's config that Envol reads or that change the sandbox's behaviour."""
    return {
        "ServiceSettings": {
            "SiteURL": "",
            "EnableBotAccountCreation": False,
            "EnableUserAccessTokens": False,
            "EnablePostUsernameOverride": False,
            "EnablePostIconOverride": False,
            "EnableCommands": True,
            "EnableCustomEmoji": False,
            "OutgoingIntegrationRequestsTimeout": 30,
            "AllowedUntrustedInternalConnections": "",
            "EnableEmailInvitations": True,
            "EnableDeveloper": False,
        },
        "TeamSettings": {
            "SiteName": "Mattermost",
            "MaxUsersPerTeam": 50,
            "MaxChannelsPerTeam": 2000,
            "EnableCustomBrand": False,
            "CustomBrandText": "",
            "CustomDescriptionText": "",
            "EnableUserCreation": True,
            "EnableOpenServer": False,
            "RestrictCreationToDomains": "",
        },
        "ServiceEnvironment": "production",
        "RateLimitSettings": {
            "Enable": False,
            "PerSec": 10,
            "MaxBurst": 100,
            "MemoryStoreSize": 10000,
            "VaryByRemoteAddr": True,
            "VaryByUser": False,
            "VaryByHeader": "",
        },
        "FileSettings": {
            "EnableFileAttachments": True,
            "MaxFileSize": 104857600,
            "DriverName": "local",
        },
        "EmailSettings": {
            "SendEmailNotifications": True,
            "EnableSignUpWithEmail": True,
            "EnableSignInWithEmail": True,
            "EnableSignInWithUsername": True,
        },
        "PrivacySettings": {"ShowEmailAddress": True, "ShowFullName": True},
        "PluginSettings": {
            "Enable": True,
            "EnableUploads": False,
            "RequirePluginSignature": False,
            "Plugins": {},
            "PluginStates": {},
        },
    }


def _merge(target: JSON, patch: JSON, path: tuple[str, ...] = ()) -> None:
    for key, value in patch.items():
        # Mattermost's config patch does not deep-merge the plugin settings map: it replaces it.
        if (
            isinstance(value, dict)
            and isinstance(target.get(key), dict)
            and (*path, key) != ("PluginSettings", "Plugins")
        ):
            _merge(target[key], value, (*path, key))
        else:
            target[key] = copy.deepcopy(value)


def _username_exists() -> AppError:
    return AppError(
        400,
        "app.user.save.username_exists.app_error",
        "An account with that username already exists.",
    )


def _email_exists() -> AppError:
    return AppError(
        400, "app.user.save.email_exists.app_error", "An account with that email already exists."
    )


@dataclass
class OpenedDialog:
    user_id: str
    url: str
    dialog: JSON
    trigger_id: str
    channel_id: str
    team_id: str
    problems: tuple[str, ...] = ()  # the rules of Dialog.IsValid it breaks (plugin.sandbox.dialogs)


@dataclass(frozen=True)
class ShownError:
    """What a person's app showed when a command, a button or a dialog failed: the server's own
    message, never the integration's answer (which the server drops)."""

    user_id: str
    source: str  # "command", "action" or "dialog"
    error_id: str
    message: str
    status: int


@dataclass
class Trigger:
    user_id: str
    channel_id: str
    team_id: str
    issued_monotonic: float


@dataclass
class SandboxState:
    """Everything the sandbox remembers. Read it freely in tests (under ``lock`` if the server
    is busy); change it through ``Sandbox`` helpers or the HTTP API."""

    ids: IdSource
    lock: threading.RLock = field(default_factory=threading.RLock)
    config: JSON = field(default_factory=default_config)
    licensed: bool = False
    users: dict[str, JSON] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> user id
    access_tokens: dict[str, JSON] = field(default_factory=dict)  # token id -> UserAccessToken
    bots: dict[str, JSON] = field(default_factory=dict)  # bot user id -> Bot
    teams: dict[str, JSON] = field(default_factory=dict)
    team_members: dict[tuple[str, str], JSON] = field(default_factory=dict)  # (team, user)
    team_member_index: dict[str, set[str]] = field(default_factory=dict)  # team -> users
    channels: dict[str, JSON] = field(default_factory=dict)
    channel_members: dict[tuple[str, str], JSON] = field(default_factory=dict)  # (channel, user)
    posts: dict[str, JSON] = field(default_factory=dict)
    thread_replies: dict[str, list[str]] = field(default_factory=dict)  # root post -> replies
    # channel -> its posts' ids, oldest first: a channel's page is read without scanning the
    # posts of every channel (a launch makes tens of thousands, mostly direct messages).
    channel_post_ids: dict[str, list[str]] = field(default_factory=dict)
    ephemeral_posts: list[JSON] = field(default_factory=list)
    files: dict[str, JSON] = field(default_factory=dict)
    file_contents: dict[str, bytes] = field(default_factory=dict)
    # (user, post, emoji) -> the reaction: one each, found without a scan (a launch adds
    # thousands); in the order added.
    reactions: dict[tuple[str, str, str], JSON] = field(default_factory=dict)
    preferences: dict[tuple[str, str, str], JSON] = field(default_factory=dict)
    categories: dict[tuple[str, str], list[JSON]] = field(default_factory=dict)  # (user, team)
    bookmarks: dict[str, JSON] = field(default_factory=dict)
    commands: dict[str, JSON] = field(default_factory=dict)
    command_hooks: dict[str, JSON] = field(default_factory=dict)  # response_url id -> hook
    triggers: dict[str, Trigger] = field(default_factory=dict)
    opened_dialogs: list[OpenedDialog] = field(default_factory=list)
    invalid_dialogs: list[OpenedDialog] = field(default_factory=list)  # broke Dialog.IsValid
    shown_errors: list[ShownError] = field(default_factory=list)
    sent_invites: list[JSON] = field(default_factory=list)  # e-mail invitations "sent"
    invite_tokens: dict[str, JSON] = field(default_factory=dict)  # token -> {email, team_id}
    invite_buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    statuses: dict[str, JSON] = field(default_factory=dict)  # user id -> manual status
    last_activity: dict[str, int] = field(default_factory=dict)  # user id -> ms
    brand_image: bytes | None = None
    team_icons: dict[str, bytes] = field(default_factory=dict)
    profile_images: dict[str, bytes] = field(default_factory=dict)
    # Unlicensed user caps, app/limits.go: maxUsersLimit = 5_000, maxUsersHardLimit = 11_000.
    user_limits: tuple[int, int] = (5000, 11000)

    # ------------------------------------------------------------------ config

    def patch_config(self, patch: JSON, *, from_api: bool) -> None:
        before = self.config["PluginSettings"].get("EnableUploads", False)
        _merge(self.config, patch)
        if from_api:
            # Mattermost refuses to change EnableUploads through the API (config.json only).
            self.config["PluginSettings"]["EnableUploads"] = before

    def replace_config(self, config: JSON) -> None:
        before = self.config["PluginSettings"].get("EnableUploads", False)
        fresh = default_config()
        _merge(fresh, config)
        fresh["PluginSettings"]["EnableUploads"] = before
        self.config = fresh

    def setting(self, section: str, key: str) -> Any:
        return self.config.get(section, {}).get(key)

    # ------------------------------------------------------------------ users

    def create_user(
        self,
        *,
        username: str,
        email: str,
        password: str = "",
        first_name: str = "",
        last_name: str = "",
        nickname: str = "",
        position: str = "",
        locale: str = "en",
        roles: str = "system_user",
        is_bot: bool = False,
        props: JSON | None = None,
    ) -> JSON:
        return self.create_users(
            [
                {
                    "username": username, "email": email, "password": password,
                    "first_name": first_name, "last_name": last_name, "nickname": nickname,
                    "position": position, "locale": locale, "roles": roles, "is_bot": is_bot,
                    "props": props,
                }
            ]
        )[0]  # fmt: skip

    def create_users(self, people: Iterable[Mapping[str, Any]]) -> list[JSON]:
        """Many users at once: one mapping of ``create_user``'s keyword arguments each, with
        the same checks, as that many ``create_user`` calls (those before a refused one stay).

        The usernames and e-mails taken and the active count are read once for the batch:
        ``create_user`` scans every user each time, so a scene of 100,000 people made one user
        at a time is quadratic (28 s for 10,000, over 17 minutes for 100,000 in
        bench/bench_metrics_snapshot.py)."""
        taken_usernames = {user["username"] for user in self.users.values()}
        taken_emails = {user["email"] for user in self.users.values()}
        active = self.active_user_count()
        created = []
        for fields in people:
            username = str(fields["username"]).lower()
            email = str(fields["email"]).lower()
            is_bot = bool(fields.get("is_bot", False))
            self._check_user_form(username, email, is_bot)
            if username in taken_usernames:
                raise _username_exists()
            if email in taken_emails:
                raise _email_exists()
            self._check_user_limit(is_bot, active)
            created.append(self._store_new_user({**fields, "username": username, "email": email}))
            taken_usernames.add(username)
            taken_emails.add(email)
            active += not is_bot
        return created

    def _store_new_user(self, fields: Mapping[str, Any]) -> JSON:
        """A new user from checked, lower-cased fields (``create_user``'s keywords)."""
        username, email = str(fields["username"]), str(fields["email"])
        password = str(fields.get("password", ""))
        first_name, last_name = fields.get("first_name", ""), fields.get("last_name", "")
        nickname, position = fields.get("nickname", ""), fields.get("position", "")
        locale, roles = fields.get("locale", "en"), fields.get("roles", "system_user")
        is_bot, props = bool(fields.get("is_bot", False)), fields.get("props")
        stamp = now_ms()
        user_id = self.ids.new_id()
        user: JSON = {
            "id": user_id,
            "create_at": stamp,
            "update_at": stamp,
            "delete_at": 0,
            "username": username,
            "auth_data": "",
            "auth_service": "",
            "email": email,
            "email_verified": True,
            "nickname": nickname,
            "first_name": first_name,
            "last_name": last_name,
            "position": position,
            "roles": roles,
            "props": props or {},
            "notify_props": {
                "email": "true",
                "push": "mention",
                "desktop": "mention",
                "channel": "true",
                "mention_keys": "",
                "first_name": "false",
            },
            "last_password_update": stamp,
            "last_picture_update": 0,
            "locale": locale,
            "timezone": {
                "automaticTimezone": "",
                "manualTimezone": "",
                "useAutomaticTimezone": "true",
            },
            "is_bot": is_bot,
            "disable_welcome_email": False,
        }
        self.users[user_id] = user
        self.passwords[user_id] = password
        return user

    @staticmethod
    def _check_user_form(username: str, email: str, is_bot: bool) -> None:
        """``User.IsValid``: the username's form and an e-mail with an @."""
        if not USERNAME_PATTERN.match(username) and not is_bot:
            raise AppError(
                400,
                "model.user.is_valid.username.app_error",
                "Username must begin with a letter, and contain between 3 to 22 lowercase "
                "characters made up of numbers, letters, and the symbols '.', '-', and '_'.",
            )
        if "@" not in email:
            raise AppError(400, "model.user.is_valid.email.app_error", "Invalid email.")

    def _check_user_limit(self, is_bot: bool, active_users: int) -> None:
        # app/limits.go isHardUserLimitExceeded: refused once the active (non-bot) users
        # *exceed* the hard limit, so the limit itself is reached and passed by one.
        if not self.licensed and not is_bot and active_users > self.user_limits[1]:
            raise AppError(
                400,
                "api.user.create_user.user_limits.exceeded",
                "Can't create user. Server exceeds safe user limit. Contact your "
                "administrator with: ERROR_SAFETY_LIMITS_EXCEEDED.",
            )

    def active_user_count(self) -> int:
        """``Store().User().Count(model.UserCountOptions{})``: active users, bots excluded."""
        return sum(1 for u in self.users.values() if not u["delete_at"] and not u["is_bot"])

    def user(self, user_id: str) -> JSON:
        user = self.users.get(user_id)
        if user is None:
            raise not_found("user", "app.user.missing_account.const")
        return user

    def new_token(self, user_id: str) -> str:
        self.user(user_id)
        token = self.ids.new_id()
        self.tokens[token] = user_id
        return token

    def is_system_admin(self, user_id: str) -> bool:
        return "system_admin" in self.users.get(user_id, {}).get("roles", "").split()

    def touch(self, user_id: str) -> None:
        self.last_activity[user_id] = now_ms()

    def status_of(self, user_id: str, now: int | None = None) -> JSON:
        """``now`` (ms): one reading of the clock for a whole list of statuses."""
        manual = self.statuses.get(user_id)
        last = self.last_activity.get(user_id, 0)
        if manual is not None:
            return {
                "user_id": user_id,
                "status": manual["status"],
                "manual": True,
                "last_activity_at": last,
            }
        idle_ms = (now_ms() if now is None else now) - last
        if not last:
            status = "offline"
        elif idle_ms < 5 * 60 * 1000:  # UserStatusAwayTimeout defaults to 300 s
            status = "online"
        elif idle_ms < 60 * 60 * 1000:
            status = "away"
        else:
            status = "offline"
        return {"user_id": user_id, "status": status, "manual": False, "last_activity_at": last}

    # ------------------------------------------------------------------ teams

    def create_team(
        self,
        *,
        name: str,
        display_name: str,
        type: str = "O",
        creator_id: str | None = None,
        allowed_domains: str = "",
        description: str = "",
    ) -> JSON:
        if not NAME_PATTERN.match(name) or not 2 <= len(name) <= 64:
            raise AppError(
                400,
                "model.team.is_valid.url.app_error",
                "URL must be 2 to 64 lowercase alphanumeric characters.",
            )
        if not display_name:
            raise AppError(400, "model.team.is_valid.name.app_error", "Invalid name.")
        if type not in ("O", "I"):
            raise AppError(400, "model.team.is_valid.type.app_error", "Invalid type.")
        if any(team["name"] == name for team in self.teams.values()):
            raise AppError(
                400, "app.team.save.existing.app_error", "A team with that name already exists."
            )
        stamp = now_ms()
        team: JSON = {
            "id": self.ids.new_id(),
            "create_at": stamp,
            "update_at": stamp,
            "delete_at": 0,
            "display_name": display_name,
            "name": name,
            "description": description,
            "email": "",
            "type": type,
            "company_name": "",
            "allowed_domains": allowed_domains,
            "invite_id": self.ids.new_id(),
            "allow_open_invite": type == "O",
            "last_team_icon_update": 0,
            "group_constrained": False,
        }
        self.teams[team["id"]] = team
        for channel_name, channel_display in DEFAULT_CHANNELS:
            self.create_channel(
                team_id=team["id"],
                name=channel_name,
                display_name=channel_display,
                type="O",
                creator_id="",
            )
        if creator_id:
            self.add_team_member(team["id"], creator_id, admin=True, enforce_cap=False)
        return team

    def team(self, team_id: str) -> JSON:
        team = self.teams.get(team_id)
        if team is None:
            raise not_found("team", "app.team.get.find.app_error")
        return team

    def team_member(self, team_id: str, user_id: str) -> JSON | None:
        member = self.team_members.get((team_id, user_id))
        return member if member and not member["delete_at"] else None

    def team_member_count(self, team_id: str) -> int:
        return len(self.team_member_index.get(team_id, ()))

    def add_team_member(
        self, team_id: str, user_id: str, *, admin: bool = False, enforce_cap: bool = True
    ) -> JSON:
        team = self.team(team_id)
        user = self.user(user_id)
        existing = self.team_member(team_id, user_id)
        if existing is not None:
            return existing
        if user["delete_at"]:
            raise AppError(
                400, "app.team.join_user_to_team.deactivated.app_error", "The user is deactivated."
            )
        cap = int(self.setting("TeamSettings", "MaxUsersPerTeam") or 0)
        if enforce_cap and cap and self.team_member_count(team_id) >= cap:
            raise AppError(
                400,
                "app.team.join_user_to_team.max_accounts.app_error",
                "This team has reached the maximum number of allowed accounts. "
                "Contact your System Administrator to set a higher limit.",
            )
        domains = [d.strip().lower() for d in re.split(r"[,\s]+", team["allowed_domains"]) if d]
        if domains and not user["is_bot"] and not self.is_system_admin(user_id):
            domain = user["email"].rsplit("@", 1)[-1]
            if domain not in domains:
                raise AppError(
                    400,
                    "api.team.join_user_to_team.allowed_domains.app_error",
                    "The user cannot be added as the domain associated with the account "
                    "is not permitted.",
                )
        member: JSON = {
            "team_id": team_id,
            "user_id": user_id,
            "roles": "team_user team_admin" if admin else "team_user",
            "delete_at": 0,
            "scheme_guest": False,
            "scheme_user": True,
            "scheme_admin": admin,
            "explicit_roles": "",
        }
        self.team_members[(team_id, user_id)] = member
        self.team_member_index.setdefault(team_id, set()).add(user_id)
        self._default_categories(user_id, team_id)
        for channel in list(self.channels.values()):
            if channel["team_id"] == team_id and channel["name"] in dict(DEFAULT_CHANNELS):
                self.add_channel_member(channel["id"], user_id)
        return member

    # ------------------------------------------------------------------ channels

    def create_channel(
        self,
        *,
        team_id: str,
        name: str,
        display_name: str,
        type: str = "O",
        creator_id: str = "",
        purpose: str = "",
        header: str = "",
    ) -> JSON:
        if type in ("O", "P"):
            self.team(team_id)
            if not NAME_PATTERN.match(name) or not 1 <= len(name) <= 64:
                raise AppError(
                    400,
                    "model.channel.is_valid.2_or_more.app_error",
                    "Name must be 2 or more lowercase alphanumeric characters.",
                )
            if not display_name or len(display_name) > 64:
                raise AppError(
                    400, "model.channel.is_valid.display_name.app_error", "Invalid display name."
                )
            for existing in self.channels.values():
                if existing["team_id"] == team_id and existing["name"] == name:
                    raise AppError(
                        400,
                        "store.sql_channel.save_channel.exists.app_error",
                        "A channel with that name already exists on the same team.",
                    )
        stamp = now_ms()
        channel: JSON = {
            "id": self.ids.new_id(),
            "create_at": stamp,
            "update_at": stamp,
            "delete_at": 0,
            "team_id": team_id,
            "type": type,
            "display_name": display_name,
            "name": name,
            "header": header,
            "purpose": purpose,
            "last_post_at": 0,
            "total_msg_count": 0,
            "extra_update_at": 0,
            "creator_id": creator_id,
        }
        self.channels[channel["id"]] = channel
        if creator_id and type in ("O", "P"):
            self.add_channel_member(channel["id"], creator_id, admin=True)
        return channel

    def channel(self, channel_id: str) -> JSON:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise not_found("channel", "app.channel.get.existing.app_error")
        return channel

    def channel_member(self, channel_id: str, user_id: str) -> JSON | None:
        return self.channel_members.get((channel_id, user_id))

    def add_channel_member(self, channel_id: str, user_id: str, *, admin: bool = False) -> JSON:
        channel = self.channel(channel_id)
        self.user(user_id)
        existing = self.channel_member(channel_id, user_id)
        if existing is not None:
            return existing
        if channel["type"] in ("O", "P") and self.team_member(channel["team_id"], user_id) is None:
            raise AppError(
                403,
                "api.channel.add_user.to.channel.failed.deleted.app_error",
                "Failed to add user to channel because they have been removed from the team.",
            )
        stamp = now_ms()
        member: JSON = {
            "channel_id": channel_id,
            "user_id": user_id,
            "roles": "channel_user channel_admin" if admin else "channel_user",
            "last_viewed_at": 0,
            "msg_count": 0,
            "mention_count": 0,
            "notify_props": {
                "desktop": "default",
                "email": "default",
                "mark_unread": "all",
                "push": "default",
            },
            "last_update_at": stamp,
            "scheme_guest": False,
            "scheme_user": True,
            "scheme_admin": admin,
            "explicit_roles": "",
        }
        self.channel_members[(channel_id, user_id)] = member
        if channel["type"] in ("O", "P"):
            for category in self.categories.get((user_id, channel["team_id"]), []):
                if category["type"] == "channels" and channel_id not in category["channel_ids"]:
                    category["channel_ids"].insert(0, channel_id)
        return member

    def remove_channel_member(self, channel_id: str, user_id: str) -> None:
        """Take a user out of a channel, as ``App.removeUserFromChannel`` does: never out of
        town-square (guests excepted), 404 for a non-member, and out of their sidebar too."""
        channel = self.channel(channel_id)
        user = self.user(user_id)
        if channel["name"] == DEFAULT_CHANNEL_NAME and "system_guest" not in user["roles"].split():
            raise AppError(
                400,
                "api.channel.remove.default.app_error",
                f"Unable to remove user from the default channel {DEFAULT_CHANNEL_NAME}",
            )
        if self.channel_members.pop((channel_id, user_id), None) is None:
            raise AppError(
                404,
                "app.channel.get_member.missing.app_error",
                "No channel member found for that user ID and channel ID.",
            )
        # The store deletes the user's SidebarChannels rows for the channel with the member.
        for category in self.categories.get((user_id, channel["team_id"]), []):
            if channel_id in category["channel_ids"]:
                category["channel_ids"].remove(channel_id)

    def direct_channel(self, user_a: str, user_b: str) -> JSON:
        self.user(user_a)
        self.user(user_b)
        name = "__".join(sorted((user_a, user_b)))
        for channel in self.channels.values():
            if channel["type"] == "D" and channel["name"] == name:
                return channel
        channel = self.create_channel(team_id="", name=name, display_name="", type="D")
        for user_id in {user_a, user_b}:
            self.add_channel_member(channel["id"], user_id)
        return channel

    # ------------------------------------------------------------------ posts

    def create_post(
        self,
        *,
        user_id: str,
        channel_id: str,
        message: str,
        root_id: str = "",
        props: JSON | None = None,
        file_ids: list[str] | None = None,
        type: str = "",
    ) -> JSON:
        channel = self.channel(channel_id)
        if channel["delete_at"]:
            raise AppError(
                403,
                "api.post.create_post.can_not_post_to_deleted.error",
                "Can not post to deleted channel.",
            )
        if len(message) > MAX_POST_LENGTH:
            raise AppError(400, "model.post.is_valid.msg.app_error", "Invalid message.")
        if root_id:
            root = self.posts.get(root_id)
            if root is None or root["delete_at"] or root["channel_id"] != channel_id:
                raise AppError(
                    400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter."
                )
            if root["root_id"]:
                root_id = root["root_id"]  # replies to a reply join the same thread
        props = copy.deepcopy(props or {})
        for attachment in props.get("attachments") or []:
            for action in attachment.get("actions") or []:
                if not action.get("id"):
                    action["id"] = self.ids.new_id()
        files = list(file_ids or [])
        for file_id in files:
            info = self.files.get(file_id)
            if info is None or info["post_id"]:
                raise invalid_param("file_ids")
        stamp = now_ms()
        post: JSON = {
            "id": self.ids.new_id(),
            "create_at": stamp,
            "update_at": stamp,
            "edit_at": 0,
            "delete_at": 0,
            "is_pinned": False,
            "user_id": user_id,
            "channel_id": channel_id,
            "root_id": root_id,
            "original_id": "",
            "message": message,
            "type": type,
            "props": props,
            "hashtags": "",
            "file_ids": files,
            "pending_post_id": "",
            "reply_count": 0,
            "has_reactions": False,
            "metadata": {},
        }
        self.posts[post["id"]] = post
        self.channel_post_ids.setdefault(channel_id, []).append(post["id"])
        for file_id in files:
            self.files[file_id]["post_id"] = post["id"]
        channel["last_post_at"] = stamp
        channel["total_msg_count"] += 1
        if root_id:
            # Every post of the thread carries its reply count (deleted replies aside); the
            # thread's own index, not a scan of every post for each reply.
            replies = self.thread_replies.setdefault(root_id, [])
            replies.append(post["id"])
            count = sum(1 for reply_id in replies if not self.posts[reply_id]["delete_at"])
            for thread_post_id in (root_id, *replies):
                thread_post = self.posts.get(thread_post_id)
                if thread_post is not None:
                    thread_post["reply_count"] = count
        return post

    def posts_of_channel(self, channel_id: str) -> Iterator[JSON]:
        """The channel's posts, deleted ones included, in the order they were made."""
        return (self.posts[post_id] for post_id in self.channel_post_ids.get(channel_id, ()))

    def post(self, post_id: str) -> JSON:
        post = self.posts.get(post_id)
        if post is None or post["delete_at"]:
            raise not_found("post", "app.post.get.app_error")
        return post

    # ------------------------------------------------------------------ categories

    def _default_categories(self, user_id: str, team_id: str) -> None:
        key = (user_id, team_id)
        if key in self.categories:
            return
        self.categories[key] = [
            self._category(
                user_id, team_id, kind, title, index * 10, category_id=f"{kind}_{user_id}_{team_id}"
            )
            for index, (kind, title) in enumerate(
                (
                    ("favorites", "Favorites"),
                    ("channels", "Channels"),
                    ("direct_messages", "Direct Messages"),
                )
            )
        ]

    def _category(
        self,
        user_id: str,
        team_id: str,
        kind: str,
        title: str,
        order: int,
        category_id: str | None = None,
        channel_ids: list[str] | None = None,
    ) -> JSON:
        return {
            "id": category_id or f"custom_{self.ids.new_id()}",
            "user_id": user_id,
            "team_id": team_id,
            "sort_order": order,
            "sorting": "",
            "type": kind,
            "display_name": title,
            "muted": False,
            "collapsed": False,
            "channel_ids": list(channel_ids or []),
        }

    def move_channels_to_category(self, user_id: str, team_id: str, target: JSON) -> None:
        """A channel sits in one category: placing it in ``target`` takes it out of the others."""
        for category in self.categories.get((user_id, team_id), []):
            if category is target:
                continue
            category["channel_ids"] = [
                c for c in category["channel_ids"] if c not in target["channel_ids"]
            ]
