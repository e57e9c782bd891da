"""``MattermostClient``: the verbs Envol needs from Mattermost's REST API v4.

Everything goes through one ``Transport`` (timeouts, retries, pacing, error translation), either
directly or underneath ``mattermostdriver``'s endpoint methods through ``EnvolDriverClient``.

Retries and idempotency: reads, PUTs and DELETEs are retried on 429, 5xx and connection
failures. A POST that creates something is retried only when it certainly did not reach the
server (429, connection refused), unless the caller gives a way to tell whether it was applied:
``create_post(..., marker=...)`` looks for a post carrying that marker before re-sending. Other
creations (users, channels, teams, commands, invitations) fail with ``Retryable`` on an
ambiguous failure and the caller decides: most of them are naturally protected, because a second
create of the same name is refused by the server.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import requests
from mattermostdriver import Driver

from plugin import clock
from plugin.jsontypes import JSON
from plugin.mattermost.driver_fixes import DriverFixes, EnvolDriverClient
from plugin.mattermost.errors import (
    FeatureDisabled,
    FeatureNeedsLicense,
    Forbidden,
    Invalid,
    NotFound,
)
from plugin.mattermost.pacing import TokenBucket, shared_pacer
from plugin.mattermost.transport import Transport
from plugin.mattermost.types import InviteResult, MemberAddResult, ServerLimits

if TYPE_CHECKING:
    from plugin.settings import DeploySettings


PER_PAGE = 200  # Mattermost's PerPageMaximum
TEAM_BATCH_MAX = 256  # MaxAddMembersBatch in api4/team.go
CHANNEL_BATCH_MAX = 1000  # maxListSize in api4/channel.go
IDS_CHUNK = 1000  # users/ids has no limit but the body size; stay modest
MARKER_PROP = "envol_marker"  # props key create_post(marker=...) writes and looks for


def _ms(moment: dt.datetime | int | None) -> int:
    if moment is None:
        return 0
    if isinstance(moment, int):
        return moment
    return int(moment.timestamp() * 1000)


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


class MattermostClient:
    """One Mattermost server, seen through one token. Safe to share between threads."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 15.0,
        max_rate_per_sec: float | None = None,
        burst: int | None = None,
        retry_budget_seconds: float = 60.0,
        session: requests.Session | None = None,
        verify: bool = True,
        pacer: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Connect lazily to ``url`` (``https://chat.example.com``) with a personal access token.

        ``max_rate_per_sec`` sets this process's shared pacer for this server (``None`` leaves
        it as it is: unlimited until ``configure_pacing_from_server`` or another client sets
        it). ``retry_budget_seconds`` bounds the time spent retrying one call. ``pacer``,
        ``sleep`` and ``clock`` replace the shared pacer and real time (tests, benchmarks).
        """
        self._url = url.rstrip("/")
        self._pacer = pacer if pacer is not None else shared_pacer(self._url)
        if max_rate_per_sec is not None:
            self._pacer.configure(max_rate_per_sec, burst)
        self._transport = Transport(
            self._url,
            token,
            timeout=timeout,
            pacer=self._pacer,
            retry_budget_seconds=retry_budget_seconds,
            session=session,
            verify=verify,
            sleep=sleep,
            clock=clock,
        )
        self._driver = Driver(
            EnvolDriverClient.driver_options(self._url, token, timeout=timeout, verify=verify),
            client_cls=EnvolDriverClient.bound_to(self._transport),
        )
        self._fixes = DriverFixes(self._transport)
        self._lock = threading.Lock()
        self._me: JSON | None = None
        self._dm_channels: dict[str, str] = {}
        # None: not yet known; False: the server rejected ``user_ids`` once, so we add one by one.
        self._channel_user_ids_supported: bool | None = None
        self._invite_object_supported: bool | None = None

    @classmethod
    def from_settings(cls, deploy_settings: DeploySettings, **overrides: Any) -> MattermostClient:
        """Build the client from ``ENVOL_MATTERMOST_URL`` / ``ENVOL_MATTERMOST_TOKEN``."""
        return cls(
            deploy_settings.mattermost_url,
            deploy_settings.mattermost_token.get_secret_value(),
            **overrides,
        )

    # ------------------------------------------------------------------ plumbing

    @property
    def url(self) -> str:
        """The server's base URL, without a trailing slash."""
        return self._url

    @property
    def pacer(self) -> TokenBucket:
        """The token bucket shared by every client of this server in this process."""
        return self._pacer

    @property
    def request_count(self) -> int:
        """HTTP requests this client has sent (retries included)."""
        return self._transport.request_count

    @property
    def driver(self) -> Driver:
        """The underlying driver, wired to our transport (for the adapter's own tests)."""
        return self._driver

    def close(self) -> None:
        """Release the pooled connections."""
        self._transport.close()

    def __enter__(self) -> MattermostClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never the token
        return f"MattermostClient({self._url!r})"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._transport.call(method, path, **kwargs)

    @staticmethod
    def _found(lookup: Callable[[], JSON]) -> Callable[[], JSON | None]:
        """For a create whose answer was lost: the object under its unique name, if it exists.

        Names are unique in Mattermost (users, teams, a team's channels), so the lookup tells
        whether the create was applied; the transport sends it again only when it was not.
        """

        def already_applied() -> JSON | None:
            try:
                return lookup()
            except NotFound:
                return None

        return already_applied

    def _paged(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[JSON]:
        page = 0
        while True:
            batch = self._call(
                "get", path, params={**(params or {}), "page": page, "per_page": PER_PAGE}
            )
            yield from batch or []
            if not batch or len(batch) < PER_PAGE:
                return
            page += 1

    # ------------------------------------------------------------------ system

    def ping(self) -> JSON:
        """``GET /system/ping``: ``{"status": "OK", …}``; raises when the server is unreachable."""
        result: JSON = self._call("get", "/system/ping")
        return result

    def get_client_config(self) -> JSON:
        """``GET /config/client?format=old``: the public config (version, site URL, features)."""
        result: JSON = self._call("get", "/config/client", params={"format": "old"})
        return result

    def server_version(self) -> str:
        """The server's version, e.g. ``9.11.1``."""
        return str(self.get_client_config().get("Version", ""))

    def get_license(self) -> JSON:
        """``GET /license/client?format=old``: ``{"IsLicensed": "true"|"false", …}``."""
        result: JSON = self._call("get", "/license/client", params={"format": "old"})
        return result

    def is_licensed(self) -> bool:
        """True when the server has any licence (Professional or above)."""
        return str(self.get_license().get("IsLicensed", "false")).lower() == "true"

    def get_server_limits(self) -> ServerLimits | None:
        """``GET /limits/server``; ``None`` on servers that predate it (404)."""
        try:
            raw: JSON = self._call("get", "/limits/server")
        except NotFound:
            return None
        return ServerLimits(
            max_users_limit=raw.get("maxUsersLimit"),
            max_users_hard_limit=raw.get("maxUsersHardLimit"),
            active_user_count=raw.get("activeUserCount"),
            raw=raw,
        )

    def get_config(self) -> JSON:
        """``GET /config`` (needs ``manage_system``)."""
        result: JSON = self._driver.system.get_configuration()
        return result

    def patch_config(self, patch: Mapping[str, Any]) -> JSON:
        """``PUT /config/patch``: change only the given sections; returns the new config."""
        result: JSON = self._call("put", "/config/patch", json=dict(patch))
        return result

    def update_config(self, config: Mapping[str, Any]) -> JSON:
        """``PUT /config`` with a whole config (needed for ``PluginSettings.Plugins``)."""
        result: JSON = self._call("put", "/config", json=dict(config))
        return result

    def get_plugin_settings(self, plugin_id: str) -> JSON:
        """The stored ``PluginSettings.Plugins.<plugin_id>`` map (``{}`` when never saved)."""
        plugins = self.get_config().get("PluginSettings", {}).get("Plugins") or {}
        settings = plugins.get(plugin_id) or plugins.get(plugin_id.lower()) or {}
        return dict(settings)

    def configure_pacing_from_server(self, headroom: float = 0.9) -> float | None:
        """Pace a little under the server's rate limit when it is on; returns the rate set.

        Needs ``manage_system`` to read the config; without it the pacer is left as it is
        and 429s are still honoured. Returns ``None`` when the server has no limit.
        """
        try:
            limits = self.get_config().get("RateLimitSettings") or {}
        except Forbidden:
            return None
        if not limits.get("Enable"):
            self._pacer.configure(None)
            return None
        rate = max(0.5, float(limits.get("PerSec") or 10) * headroom)
        burst = max(1, int(int(limits.get("MaxBurst") or 100) * headroom))
        self._pacer.configure(rate, burst)
        return rate

    # ------------------------------------------------------------------ users

    def get_me(self) -> JSON:
        """``GET /users/me``: the token's own account (cached)."""
        with self._lock:
            if self._me is None:
                self._me = self._driver.users.get_user("me")
            return dict(self._me)

    def get_user(self, user_id: str) -> JSON:
        """``GET /users/{id}``."""
        result: JSON = self._driver.users.get_user(user_id)
        return result

    def get_user_by_username(self, username: str) -> JSON:
        """``GET /users/username/{username}``."""
        result: JSON = self._driver.users.get_user_by_username(username)
        return result

    def get_user_by_email(self, email: str) -> JSON:
        """``GET /users/email/{email}``."""
        result: JSON = self._driver.users.get_user_by_email(email)
        return result

    def get_users_by_ids(self, user_ids: Sequence[str]) -> list[JSON]:
        """``POST /users/ids`` in chunks of 1000; unknown ids are simply absent."""
        users: list[JSON] = []
        for chunk in _chunks(_unique(user_ids), IDS_CHUNK):
            users += self._call("post", "/users/ids", json=chunk, idempotent=True)
        return users

    def get_users_by_usernames(self, usernames: Sequence[str]) -> list[JSON]:
        """``POST /users/usernames`` in chunks of 1000; unknown names are simply absent."""
        users: list[JSON] = []
        for chunk in _chunks(_unique(usernames), IDS_CHUNK):
            users += self._call("post", "/users/usernames", json=chunk, idempotent=True)
        return users

    def get_users_by_emails(self, emails: Sequence[str]) -> list[JSON]:
        """One ``GET /users/email/{email}`` per address (API v4 has no batch); unknown skipped."""
        users: list[JSON] = []
        for email in _unique([e.strip().lower() for e in emails]):
            try:
                users.append(self.get_user_by_email(email))
            except NotFound:
                continue
        return users

    def iter_users(
        self,
        *,
        in_team: str | None = None,
        in_channel: str | None = None,
        not_in_channel: str | None = None,
        active: bool | None = None,
    ) -> Iterator[JSON]:
        """``GET /users`` page by page (200 a page), optionally filtered."""
        params: dict[str, Any] = {}
        if in_team:
            params["in_team"] = in_team
        if in_channel:
            params["in_channel"] = in_channel
        if not_in_channel:
            params["not_in_channel"] = not_in_channel
        if active is not None:
            params["active"] = "true" if active else "false"
        yield from self._paged("/users", params)

    def create_user(
        self, email: str, username: str, *, password: str | None = None, **fields: Any
    ) -> JSON:
        """``POST /users`` (admin token): ``fields`` may hold first_name, locale, props…"""
        body: JSON = {"email": email, "username": username, **fields}
        if password is not None:
            body["password"] = password
        result: JSON = self._call(
            "post", "/users", json=body, idempotent=False,
            already_applied=self._found(lambda: self.get_user_by_username(username)),
        )  # fmt: skip
        return result

    def patch_user(self, user_id: str, patch: Mapping[str, Any]) -> JSON:
        """``PUT /users/{id}/patch``: change only the given fields."""
        result: JSON = self._driver.users.patch_user(user_id, options=dict(patch))
        return result

    def get_statuses(self, user_ids: Sequence[str]) -> list[JSON]:
        """``POST /users/status/ids``: ``[{user_id, status: online|away|dnd|offline}]``."""
        statuses: list[JSON] = []
        for chunk in _chunks(_unique(user_ids), IDS_CHUNK):
            statuses += self._call("post", "/users/status/ids", json=chunk, idempotent=True)
        return statuses

    def create_user_access_token(self, user_id: str, description: str) -> JSON:
        """``POST /users/{id}/tokens``: ``{id, token, …}``; the token is shown only once."""
        result: JSON = self._call(
            "post", f"/users/{user_id}/tokens", json={"description": description}
        )
        return result

    def set_user_roles(self, user_id: str, roles: str) -> None:
        """``PUT /users/{id}/roles``: e.g. ``"system_admin system_user"`` (manage_roles)."""
        self._call("put", f"/users/{user_id}/roles", json={"roles": roles}, idempotent=True)

    def deactivate_user(self, user_id: str) -> None:
        """``DELETE /users/{id}``: the account is deactivated (not erased); its sessions and
        tokens stop working. Reversible by an admin in the System Console."""
        self._call("delete", f"/users/{user_id}", idempotent=True)

    # ------------------------------------------------------------------ bots

    def find_bot(self, username: str) -> JSON | None:
        """The bot with this username (``GET /users/username`` then ``/bots/{id}``), or None."""
        try:
            user = self.get_user_by_username(username)
        except NotFound:
            return None
        if not user.get("is_bot"):
            return None
        result: JSON = self._call("get", f"/bots/{user['id']}", params={"include_deleted": "true"})
        return result

    def create_bot(self, username: str, display_name: str, description: str = "") -> JSON:
        """``POST /bots``: ``{user_id, username, …}``."""
        body = {"username": username, "display_name": display_name, "description": description}
        result: JSON = self._call(
            "post", "/bots", json=body, idempotent=False,
            already_applied=lambda: self.find_bot(username),
        )  # fmt: skip
        return result

    def disable_bot(self, bot_user_id: str) -> JSON:
        """``POST /bots/{id}/disable``: the bot is deactivated with its tokens."""
        result: JSON = self._call("post", f"/bots/{bot_user_id}/disable", idempotent=True)
        return result

    # ------------------------------------------------------------------ teams

    def get_team(self, team_id: str) -> JSON:
        """``GET /teams/{id}``."""
        result: JSON = self._driver.teams.get_team(team_id)
        return result

    def get_team_by_name(self, name: str) -> JSON:
        """``GET /teams/name/{name}``."""
        result: JSON = self._driver.teams.get_team_by_name(name)
        return result

    def create_team(self, name: str, display_name: str, *, type: str = "I", **fields: Any) -> JSON:
        """``POST /teams``; ``type`` is ``O`` (open) or ``I`` (invite only)."""
        body = {"name": name, "display_name": display_name, "type": type, **fields}
        result: JSON = self._call(
            "post", "/teams", json=body, idempotent=False,
            already_applied=self._found(lambda: self.get_team_by_name(name)),
        )  # fmt: skip
        return result

    def patch_team(self, team_id: str, patch: Mapping[str, Any]) -> JSON:
        """``PUT /teams/{id}/patch``."""
        result: JSON = self._driver.teams.patch_team(team_id, options=dict(patch))
        return result

    def archive_team(self, team_id: str) -> None:
        """``DELETE /teams/{id}`` without ``permanent``: the team is archived, its content kept."""
        self._call("delete", f"/teams/{team_id}", idempotent=True)

    def set_team_icon(
        self,
        team_id: str,
        image: bytes,
        filename: str = "icon.png",
        content_type: str = "image/png",
    ) -> None:
        """``POST /teams/{id}/image`` (multipart ``image``)."""
        files = {"image": (filename, image, content_type)}
        self._call("post", f"/teams/{team_id}/image", files=files, idempotent=True)

    def iter_team_members(self, team_id: str) -> Iterator[JSON]:
        """``GET /teams/{id}/members`` page by page: TeamMember objects."""
        yield from self._paged(f"/teams/{team_id}/members")

    def add_team_members(self, team_id: str, user_ids: Sequence[str]) -> list[MemberAddResult]:
        """``POST /teams/{id}/members/batch?graceful=true``, 256 per call, one result per user."""
        results: list[MemberAddResult] = []
        for chunk in _chunks(_unique(user_ids), TEAM_BATCH_MAX):
            body = [{"team_id": team_id, "user_id": user_id} for user_id in chunk]
            # Adding an existing member again is harmless, so this POST may be retried.
            answer = self._fixes.post_with_params(
                f"/teams/{team_id}/members/batch", body, {"graceful": "true"}, idempotent=True
            )
            for item in answer or []:
                error = item.get("error") or {}
                user_id = item.get("user_id") or (item.get("member") or {}).get("user_id", "")
                results.append(
                    MemberAddResult(
                        user_id=user_id,
                        added=not error,
                        error_id=str(error.get("id", "")) if error else "",
                        error=str(error.get("message", "")) if error else "",
                    )
                )
        return results

    def invite_by_email(
        self,
        team_id: str,
        emails: Sequence[str],
        *,
        channel_ids: Sequence[str] = (),
        message: str = "",
    ) -> list[InviteResult]:
        """``POST /teams/{id}/invite/email?graceful=true``: one result per address.

        Sends the ``MemberInvite`` object of newer servers; a server that refuses it (400)
        gets the plain array of the 2023 API. Mattermost sends at most 20 invitations per
        hour per sender and refuses a request of more than 20 addresses outright: the
        caller schedules waves accordingly. Never retried after an ambiguous failure
        (a second send would mail people twice).
        """
        addresses = _unique([e.strip().lower() for e in emails])
        path = f"/teams/{team_id}/invite/email"
        params = {"graceful": "true"}
        body: Any = {"emails": addresses, "channel_ids": list(channel_ids), "message": message}
        answer: Any = None
        if self._invite_object_supported is not False:
            try:
                answer = self._fixes.post_with_params(path, body, params, idempotent=False)
                self._invite_object_supported = True
            except Invalid as error:
                # Older servers read a bare array and answer 400 to the object; the e-mail
                # rate limit (also 400/413) is a real refusal and must not be re-sent.
                if self._invite_object_supported or not _rejects_invite_object(error):
                    raise
                self._invite_object_supported = False
        if self._invite_object_supported is False:
            answer = self._fixes.post_with_params(path, addresses, params, idempotent=False)
        if not isinstance(answer, list):  # StatusOK from servers without graceful support
            return [InviteResult(email=email, sent=True) for email in addresses]
        results = []
        for item in answer:
            failure = item.get("error") or {}
            results.append(
                InviteResult(
                    email=str(item.get("email", "")),
                    sent=not failure,
                    error_id=str(failure.get("id", "")) if failure else "",
                    error=str(failure.get("message", "")) if failure else "",
                )
            )
        return results

    def team_invite_link(self, team: Mapping[str, Any] | str) -> str:
        """The team's signup link ``<SiteURL>/signup_user_complete/?id=<invite_id>``."""
        team_obj = self.get_team(team) if isinstance(team, str) else team
        site_url = str(self.get_client_config().get("SiteURL") or self._url).rstrip("/")
        return f"{site_url}/signup_user_complete/?id={team_obj['invite_id']}"

    # ------------------------------------------------------------------ channels

    def get_channel(self, channel_id: str) -> JSON:
        """``GET /channels/{id}``."""
        result: JSON = self._driver.channels.get_channel(channel_id)
        return result

    def get_channel_by_name(
        self, team_id: str, name: str, *, include_deleted: bool = False
    ) -> JSON:
        """``GET /teams/{team_id}/channels/name/{name}``, archived channels too if asked."""
        params = {"include_deleted": "true"} if include_deleted else None
        result: JSON = self._call("get", f"/teams/{team_id}/channels/name/{name}", params=params)
        return result

    def create_channel(
        self,
        team_id: str,
        name: str,
        display_name: str,
        *,
        type: str = "O",
        purpose: str = "",
        header: str = "",
    ) -> JSON:
        """``POST /channels``; ``type`` is ``O`` (public) or ``P`` (private)."""
        body = {
            "team_id": team_id,
            "name": name,
            "display_name": display_name,
            "type": type,
            "purpose": purpose,
            "header": header,
        }
        result: JSON = self._call(
            "post", "/channels", json=body, idempotent=False,
            already_applied=self._found(lambda: self.get_channel_by_name(team_id, name)),
        )  # fmt: skip
        return result

    def patch_channel(self, channel_id: str, patch: Mapping[str, Any]) -> JSON:
        """``PUT /channels/{id}/patch``."""
        result: JSON = self._driver.channels.patch_channel(channel_id, options=dict(patch))
        return result

    def delete_channel(self, channel_id: str) -> None:
        """``DELETE /channels/{id}`` (archives it)."""
        self._driver.channels.delete_channel(channel_id)

    def restore_channel(self, channel_id: str) -> JSON:
        """``POST /channels/{id}/restore``."""
        result: JSON = self._call("post", f"/channels/{channel_id}/restore", idempotent=True)
        return result

    def list_team_channels(self, team_id: str, *, include_deleted: bool = False) -> list[JSON]:
        """Public channels of a team (``GET /teams/{id}/channels``), archived ones if asked."""
        channels = list(self._paged(f"/teams/{team_id}/channels"))
        if include_deleted:
            channels += list(self._paged(f"/teams/{team_id}/channels/deleted"))
        return channels

    def iter_channel_members(self, channel_id: str) -> Iterator[JSON]:
        """``GET /channels/{id}/members`` page by page: ChannelMember objects."""
        yield from self._paged(f"/channels/{channel_id}/members")

    def add_channel_members(
        self, channel_id: str, user_ids: Sequence[str]
    ) -> list[MemberAddResult]:
        """``POST /channels/{id}/members`` with ``user_ids`` (≤ 1000 per call).

        A server that rejects ``user_ids`` (older than the batch form) is remembered, and every
        user is then added with its own call. Users the server skipped come back ``added=False``.
        """
        wanted = _unique(user_ids)
        results: list[MemberAddResult] = []
        pending = wanted
        if self._channel_user_ids_supported is not False and wanted:
            pending = []
            for position, chunk in enumerate(_chunks(wanted, CHANNEL_BATCH_MAX)):
                try:
                    answer = self._call(
                        "post",
                        f"/channels/{channel_id}/members",
                        json={"user_ids": chunk},
                        idempotent=True,
                    )
                except Invalid as error:
                    if self._channel_user_ids_supported or not _rejects_user_ids(error):
                        raise
                    self._channel_user_ids_supported = False
                    pending = wanted[position * CHANNEL_BATCH_MAX :]
                    break
                self._channel_user_ids_supported = True
                members = answer if isinstance(answer, list) else [answer]
                added = {m.get("user_id") for m in members}
                results += [
                    MemberAddResult(
                        user_id=u, added=u in added, error="" if u in added else "skipped"
                    )
                    for u in chunk
                ]
        for user_id in pending:
            try:
                self._call(
                    "post",
                    f"/channels/{channel_id}/members",
                    json={"user_id": user_id},
                    idempotent=True,
                )
                results.append(MemberAddResult(user_id=user_id, added=True))
            except (Invalid, Forbidden, NotFound) as error:
                results.append(
                    MemberAddResult(
                        user_id, added=False, error_id=error.error_id, error=error.message
                    )
                )
        return results

    def remove_channel_member(self, channel_id: str, user_id: str) -> None:
        """``DELETE /channels/{id}/members/{user_id}``."""
        self._driver.channels.remove_channel_member(channel_id, user_id)

    def get_direct_channel(self, other_user_id: str) -> JSON:
        """``POST /channels/direct`` between the token's user and another (existing one reused)."""
        me = self.get_me()["id"]
        result: JSON = self._call(
            "post", "/channels/direct", json=[me, other_user_id], idempotent=True
        )
        with self._lock:
            self._dm_channels[other_user_id] = result["id"]
        return result

    def direct_channel_id(self, other_user_id: str) -> str:
        """The id of the DM channel with ``other_user_id``: remembered after the first ask
        (a DM channel keeps its id for as long as both accounts exist), so a person's second
        and later DMs cost one request, not two."""
        with self._lock:
            channel_id = self._dm_channels.get(other_user_id)
        return channel_id or str(self.get_direct_channel(other_user_id)["id"])

    def send_direct_message(
        self,
        to_user_id: str,
        message: str,
        props: Mapping[str, Any] | None = None,
        *,
        marker: str | None = None,
    ) -> JSON:
        """Post a DM as the token's user (the DM channel id is cached per recipient)."""
        return self.create_post(
            self.direct_channel_id(to_user_id), message, props=props, marker=marker
        )

    # ------------------------------------------------------------------ posts

    def create_post(
        self,
        channel_id: str,
        message: str,
        *,
        props: Mapping[str, Any] | None = None,
        file_ids: Sequence[str] = (),
        root_id: str = "",
        marker: str | None = None,
    ) -> JSON:
        """``POST /posts``. With ``marker``, stored as ``props.envol_marker``, a failure that may
        have reached the server is retried only after checking the post is not already there."""
        body: JSON = {"channel_id": channel_id, "message": message}
        post_props = dict(props or {})
        if marker is not None:
            post_props[MARKER_PROP] = marker
        if post_props:
            body["props"] = post_props
        if file_ids:
            body["file_ids"] = list(file_ids)
        if root_id:
            body["root_id"] = root_id
        already_applied: Callable[[], Any] | None = None
        if marker is not None:
            # The server stamps posts with its own clock: allow for skew between the two.
            since = clock.now() - dt.timedelta(minutes=5)

            def already_applied() -> Any:
                return self.find_post_by_marker(channel_id, marker, since)

        result: JSON = self._call(
            "post", "/posts", json=body, idempotent=False, already_applied=already_applied
        )
        return result

    def find_post_by_marker(
        self, channel_id: str, marker: str, since: dt.datetime | int
    ) -> JSON | None:
        """The newest post since ``since`` whose ``props.envol_marker`` equals ``marker``."""
        found = None
        for post in self.iter_channel_posts(channel_id, since=since):
            if (post.get("props") or {}).get(MARKER_PROP) == marker and not post.get("delete_at"):
                found = post
        return found

    def get_post(self, post_id: str) -> JSON | None:
        """``GET /posts/{id}``; ``None`` when it does not exist or was deleted."""
        try:
            post: JSON = self._driver.posts.get_post(post_id)
        except NotFound:
            return None
        return None if post.get("delete_at") else post

    def update_post(
        self,
        post_id: str,
        *,
        message: str | None = None,
        props: Mapping[str, Any] | None = None,
    ) -> JSON:
        """``PUT /posts/{id}/patch``: change the message and/or props in place."""
        patch: JSON = {}
        if message is not None:
            patch["message"] = message
        if props is not None:
            patch["props"] = dict(props)
        result: JSON = self._driver.posts.patch_post(post_id, options=patch)
        return result

    def iter_channel_posts(
        self, channel_id: str, *, since: dt.datetime | int | None = None
    ) -> Iterator[JSON]:
        """Posts of a channel, oldest first: all since a time, or every page."""
        path = f"/channels/{channel_id}/posts"
        if since is not None:
            answer = self._call("get", path, params={"since": _ms(since)})
            yield from _ordered_posts(answer)
            return
        pages: list[list[JSON]] = []
        page = 0
        while True:
            answer = self._call("get", path, params={"page": page, "per_page": PER_PAGE})
            posts = _ordered_posts(answer)
            pages.append(posts)
            if len(answer.get("order") or []) < PER_PAGE:
                break
            page += 1
        for posts in reversed(pages):  # page 0 is the newest
            yield from posts

    def get_thread(self, post_id: str) -> list[JSON]:
        """``GET /posts/{id}/thread``: the root and its replies, oldest first."""
        return _ordered_posts(self._driver.posts.get_thread(post_id))

    def pin_post(self, post_id: str) -> None:
        """``POST /posts/{id}/pin``."""
        self._call("post", f"/posts/{post_id}/pin", idempotent=True)

    def unpin_post(self, post_id: str) -> None:
        """``POST /posts/{id}/unpin``."""
        self._call("post", f"/posts/{post_id}/unpin", idempotent=True)

    def get_pinned_posts(self, channel_id: str) -> list[JSON]:
        """``GET /channels/{id}/pinned``, oldest first."""
        return _ordered_posts(self._driver.channels.get_channel_pinned_posts(channel_id))

    def delete_post(self, post_id: str) -> None:
        """``DELETE /posts/{id}``."""
        self._driver.posts.delete_post(post_id)

    def create_ephemeral_post(
        self, user_id: str, channel_id: str, message: str, props: Mapping[str, Any] | None = None
    ) -> JSON:
        """``POST /posts/ephemeral``: visible to one user only (system admin token)."""
        post: JSON = {"channel_id": channel_id, "message": message}
        if props:
            post["props"] = dict(props)
        result: JSON = self._call(
            "post", "/posts/ephemeral", json={"user_id": user_id, "post": post}, idempotent=True
        )
        return result

    # ------------------------------------------------------------------ files, reactions

    def upload_file(
        self,
        channel_id: str,
        content: bytes,
        filename: str,
        content_type: str = "application/octet-stream",
    ) -> JSON:
        """``POST /files`` (multipart): the FileInfo to pass in ``create_post(file_ids=…)``."""
        answer = self._call(
            "post",
            "/files",
            files={"files": (filename, content, content_type)},
            data={"channel_id": channel_id},
            idempotent=True,  # a duplicate upload is an unused orphan, never visible
        )
        infos = answer.get("file_infos") or []
        if not infos:
            raise Invalid(f"Mattermost accepted the upload of {filename} but returned no file")
        result: JSON = infos[0]
        return result

    def get_file(self, file_id: str) -> bytes:
        """``GET /files/{id}``: the file's content."""
        content = self._call("get", f"/files/{file_id}")
        if isinstance(content, bytes):
            return content
        raise Invalid(f"Mattermost answered GET /files/{file_id} with no file content")

    def add_reaction(self, post_id: str, emoji_name: str, user_id: str | None = None) -> JSON:
        """``POST /reactions`` as ``user_id`` (default: the token's user)."""
        body = {
            "user_id": user_id or self.get_me()["id"],
            "post_id": post_id,
            "emoji_name": emoji_name,
        }
        result: JSON = self._call("post", "/reactions", json=body, idempotent=True)
        return result

    def list_reactions(self, post_id: str) -> list[JSON]:
        """``GET /posts/{id}/reactions``."""
        return list(self._call("get", f"/posts/{post_id}/reactions") or [])

    # ------------------------------------------------------------------ preferences, branding

    def get_preferences(self, user_id: str = "me") -> list[JSON]:
        """``GET /users/{id}/preferences``."""
        return list(self._driver.preferences.get_user_preferences(user_id))

    def save_preferences(self, user_id: str, preferences: Sequence[Mapping[str, Any]]) -> None:
        """``PUT /users/{id}/preferences``; each item ``{user_id, category, name, value}``."""
        self._call("put", f"/users/{user_id}/preferences", json=[dict(p) for p in preferences])

    def get_theme(self, user_id: str, team_id: str = "") -> JSON | None:
        """The user's ``theme`` preference (``name`` = team id for a per-team theme), parsed."""
        import json

        for pref in self.get_preferences(user_id):
            if pref.get("category") == "theme" and pref.get("name", "") == team_id:
                value = pref.get("value") or ""
                parsed: JSON = json.loads(value) if value else {}
                return parsed
        return None

    def set_theme(self, user_id: str, theme: Mapping[str, Any], team_id: str = "") -> None:
        """Save the user's ``theme`` preference (the value is a JSON string)."""
        import json

        value = json.dumps(dict(theme), separators=(",", ":"))
        self.save_preferences(
            user_id, [{"user_id": user_id, "category": "theme", "name": team_id, "value": value}]
        )

    def upload_brand_image(
        self, image: bytes, filename: str = "brand.png", content_type: str = "image/png"
    ) -> None:
        """``POST /brand/image`` (multipart ``image``; needs ``manage_system``)."""
        files = {"image": (filename, image, content_type)}
        self._call("post", "/brand/image", files=files, idempotent=True)

    def set_custom_brand(
        self,
        *,
        site_name: str | None = None,
        brand_text: str | None = None,
        description_text: str | None = None,
        enable: bool = True,
    ) -> JSON:
        """Turn on the custom brand and set its texts through ``PUT /config/patch``."""
        team: JSON = {"EnableCustomBrand": enable}
        if site_name is not None:
            team["SiteName"] = site_name
        if brand_text is not None:
            team["CustomBrandText"] = brand_text
        if description_text is not None:
            team["CustomDescriptionText"] = description_text
        return self.patch_config({"TeamSettings": team})

    # ------------------------------------------------------------------ sidebar categories

    def get_sidebar_categories(self, user_id: str, team_id: str) -> JSON:
        """``GET /users/{u}/teams/{t}/channels/categories``: ``{categories, order}``."""
        result: JSON = self._call("get", f"/users/{user_id}/teams/{team_id}/channels/categories")
        return result

    def create_sidebar_category(
        self, user_id: str, team_id: str, display_name: str, channel_ids: Sequence[str] = ()
    ) -> JSON:
        """``POST …/channels/categories``: a custom category for that user (after they joined)."""
        body = {
            "user_id": user_id,
            "team_id": team_id,
            "display_name": display_name,
            "type": "custom",
            "channel_ids": list(channel_ids),
        }

        def already_applied() -> JSON | None:
            categories = self.get_sidebar_categories(user_id, team_id).get("categories") or []
            return next((c for c in categories if c.get("display_name") == display_name), None)

        result: JSON = self._call(
            "post", f"/users/{user_id}/teams/{team_id}/channels/categories", json=body,
            idempotent=False, already_applied=already_applied,
        )  # fmt: skip
        return result

    def update_sidebar_category(
        self, user_id: str, team_id: str, category: Mapping[str, Any]
    ) -> JSON:
        """``PUT …/channels/categories/{category_id}`` with the whole category."""
        path = f"/users/{user_id}/teams/{team_id}/channels/categories/{category['id']}"
        result: JSON = self._call("put", path, json=dict(category))
        return result

    # ------------------------------------------------------------------ bookmarks (licensed)

    def list_bookmarks(self, channel_id: str) -> list[JSON]:
        """``GET /channels/{id}/bookmarks``."""
        return list(self._licensed("get", f"/channels/{channel_id}/bookmarks") or [])

    def create_bookmark(
        self,
        channel_id: str,
        display_name: str,
        *,
        link_url: str | None = None,
        file_id: str | None = None,
        emoji: str = "",
        image_url: str = "",
    ) -> JSON:
        """``POST /channels/{id}/bookmarks``: a link or a file; needs a licence."""
        body: JSON = {"display_name": display_name, "type": "file" if file_id else "link"}
        if file_id:
            body["file_id"] = file_id
        else:
            body["link_url"] = link_url or ""
        if emoji:
            body["emoji"] = emoji
        if image_url:
            body["image_url"] = image_url
        result: JSON = self._licensed("post", f"/channels/{channel_id}/bookmarks", json=body)
        return result

    def update_bookmark(self, channel_id: str, bookmark_id: str, patch: Mapping[str, Any]) -> JSON:
        """A real ``PATCH /channels/{id}/bookmarks/{bid}``: ``{updated, deleted}``."""
        result: JSON = self._licensed(
            "patch", f"/channels/{channel_id}/bookmarks/{bookmark_id}", json=dict(patch)
        )
        return result

    def _licensed(self, method: str, path: str, **kwargs: Any) -> Any:
        # Unlicensed servers answer 403 or 501 (it changed between versions) with a
        # "...license..." error id; say plainly what is missing.
        try:
            return self._call(method, path, **kwargs)
        except (FeatureNeedsLicense, FeatureDisabled, Forbidden) as error:
            if not isinstance(error, FeatureNeedsLicense) and "license" not in error.error_id:
                raise
            raise FeatureNeedsLicense(
                "Channel bookmarks need a Mattermost licence (Professional or above); "
                f"the server said: {error.message}",
                status_code=error.status_code,
                error_id=error.error_id,
                request_id=error.request_id,
                method=error.method,
                path=error.path,
            ) from error

    # ------------------------------------------------------------------ slash commands

    def list_commands(self, team_id: str, *, custom_only: bool = True) -> list[JSON]:
        """``GET /commands?team_id=…&custom_only=…``."""
        params = {"team_id": team_id, "custom_only": "true" if custom_only else "false"}
        return list(self._call("get", "/commands", params=params) or [])

    def create_command(
        self, team_id: str, trigger: str, url: str, *, method: str = "P", **fields: Any
    ) -> JSON:
        """``POST /commands``; the answer's ``token`` is what incoming requests carry."""
        body = {"team_id": team_id, "trigger": trigger, "url": url, "method": method, **fields}
        result: JSON = self._call("post", "/commands", json=body)
        return result

    def update_command(self, command: Mapping[str, Any]) -> JSON:
        """``PUT /commands/{id}`` with the whole command (the driver's path lacks the slash)."""
        return self._fixes.update_command(command)

    def delete_command(self, command_id: str) -> None:
        """``DELETE /commands/{id}``."""
        self._fixes.delete_command(command_id)

    def regenerate_command_token(self, command_id: str) -> str:
        """``PUT /commands/{id}/regen_token``: the new token."""
        return self._fixes.regenerate_command_token(command_id)

    # ------------------------------------------------------------------ dialogs, responses

    def open_dialog(self, trigger_id: str, url: str, dialog: Mapping[str, Any]) -> None:
        """``POST /actions/dialogs/open``; call it first: the trigger id expires in seconds."""
        body = {"trigger_id": trigger_id, "url": url, "dialog": dict(dialog)}
        # No retry after an ambiguous failure: the trigger is single-use and short-lived.
        self._call("post", "/actions/dialogs/open", json=body, idempotent=False)

    def post_to_response_url(self, url: str, body: Mapping[str, Any]) -> None:
        """POST a command response to a slash command's ``response_url`` (no auth; 5 uses)."""
        self._transport.call_absolute("post", url, json=dict(body))


def _rejects_user_ids(error: Invalid) -> bool:
    # Old servers decode the body into {"user_id": …} and complain that user_id is missing.
    text = f"{error.error_id} {error.message}".lower()
    return "user_id" in text or "user_ids" in text


def _rejects_invite_object(error: Invalid) -> bool:
    return error.status_code == 400 and "rate_limit" not in error.error_id


def _ordered_posts(post_list: Mapping[str, Any] | None) -> list[JSON]:
    """A PostList (``{order: newest first, posts: {id: post}}``) as posts, oldest first."""
    if not post_list:
        return []
    posts = post_list.get("posts") or {}
    order = post_list.get("order") or sorted(posts, key=lambda pid: posts[pid].get("create_at", 0))
    ordered = [posts[pid] for pid in order if pid in posts]
    ordered.sort(key=lambda p: p.get("create_at", 0))
    return ordered
