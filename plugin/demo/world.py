"""What the simulated people observe of Mattermost, and the few things a demo operator does.

The people (``plugin.demo.population``) act only as users, through ``AppUser`` (API v4 and the
WebSocket). What they *observe* — who is in the team, which channels exist and who is in them,
which posts are new — and the operator's privileged moves (a token for a user, a sign-up from an
invitation) go through a ``World``:

* ``SandboxWorld(sandbox)`` reads the sandbox's in-process state under its lock: no HTTP, no
  copy, so the default demo (1,500 people, 90 days) costs what it did before;
* ``ApiWorld(url, admin_token)`` asks a real (staging) Mattermost through its public API v4 with
  a system admin's token, for ``envol demo --mattermost-url … --token …``.

What ``ApiWorld`` cannot see, and what it does instead:

* Mattermost's *own* e-mail invitations: a server keeps their tokens to itself, so
  ``email_invitations`` and ``invitation_tokens`` are empty and nobody signs up from them. On a
  rehearsal, set Envol's invitation mode to Envol's e-mail: its message carries the team's
  invite link, which the demo's mail catcher reads and hands to the people
  (``plugin.demo.arrivals.invitations_from_emails``); they sign up with ``POST /users?iid=``.
* New posts are read channel by channel (``GET /channels/{id}/posts?since=``): the team's open
  and private channels, and the direct and group messages of every bot and of the token's own
  account (where Envol's surveys and welcomes land). A direct message between two people is
  not read: nobody sends buttons there, so the people's model has nothing to do with it.
* A person's session: the account the demo signed up logs in with the password the demo set
  (``POST /users/login``); an account it did not create (added to the team directly) gets a
  personal access token (``POST /users/{id}/tokens``, which needs EnableUserAccessTokens).

Order: both worlds give a channel's posts in creation order; across channels the people's model
orders them itself (creation time, then channel name), so the same scene gives the same
observations in both worlds, ids aside (tests/demo/test_world.py).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from plugin.demo.in_process import WsgiAdapter, session_into
from plugin.demo.person import PERSON_HEADER, AppUser
from plugin.jsontypes import JSON

if TYPE_CHECKING:
    from plugin.demo.run import DemoRun
    from plugin.sandbox import Sandbox

PER_PAGE = 200  # the most Mattermost serves per page
TIMEOUT = 30.0
MAX_ATTEMPTS = 4
# The sandbox's people sign up with this password.
SANDBOX_PASSWORD = "Sandbox-password-1"
# A direct or group message: the channels Mattermost lists with a user's team channels.
DIRECT_TYPES = ("D", "G")


@dataclass(frozen=True)
class SentInvitation:
    """One of Mattermost's own e-mail invitations (only a sandbox can show them)."""

    email: str
    team_id: str
    at_ms: int


class SignUpFailed(RuntimeError):
    """Mattermost refused a sign-up; the message starts ``sign-up failed: <status> ``."""


class World(Protocol):
    """What the people's model observes, and the operator's privileged moves. Every list comes
    in a stable order (names, creation), never in the order of random ids."""

    @property
    def url(self) -> str: ...

    def team_ids(self) -> list[str]:
        """Every team, by name."""
        ...

    def team_member_ids(self, team_id: str) -> frozenset[str]: ...

    def is_team_member(self, team_id: str, user_id: str) -> bool: ...

    def email_of(self, user_id: str) -> str: ...

    def username_of(self, user_id: str) -> str: ...

    def user_id_by_email(self, email: str) -> str | None:
        """The active account with this address, if any."""
        ...

    def email_invitations(self, start: int) -> list[SentInvitation]:
        """Mattermost's e-mail invitations from the ``start``-th one, in the order sent."""
        ...

    def invitation_tokens(self, email: str) -> list[tuple[str, int]]:
        """(token, expiry in ms) of Mattermost's e-mail invitations to ``email``, oldest first."""
        ...

    def team_channels(self, team_ids: Iterable[str]) -> list[JSON]:
        """The teams' open and private channels that are not archived."""
        ...

    def channel(self, channel_id: str) -> JSON:
        """A channel (``{}`` when unknown); its type and name never change."""
        ...

    def members_among(self, channel_id: str, user_ids: Iterable[str]) -> set[str]:
        """Which of ``user_ids`` are in the channel now."""
        ...

    def channels_joined(
        self, user_id: str, channel_ids: Iterable[str], team_ids: Iterable[str]
    ) -> set[str]:
        """Which of ``channel_ids`` (channels of ``team_ids``) the user is in now."""
        ...

    def new_posts(self, team_ids: Iterable[str]) -> list[JSON]:
        """Posts created since the last call (all of them at the first), none deleted; each
        channel's in creation order. At least those of the teams' channels and of the direct
        messages of bots and of the admin (the sandbox gives every post). A world serves one
        observer."""
        ...

    def sign_up(
        self,
        *,
        email: str,
        username: str,
        profile: Mapping[str, str],
        invite_id: str | None = None,
        token: str | None = None,
    ) -> str:
        """Create the account from the team's invite link (``invite_id``) or an e-mail
        invitation's ``token``, as the person's browser would; returns the user id. Raises
        ``SignUpFailed`` (or a ``requests`` error)."""
        ...

    def token_for(self, user_id: str) -> str:
        """A session token for the user, as if they had signed in."""
        ...

    def people_transport(self) -> BaseAdapter:
        """What carries the people's API requests (not their WebSocket): mount it on their
        sessions; one for all of them."""
        ...

    def envol_session(self) -> requests.Session | None:
        """A session for the client of Envol's launch cycle in the demo's process
        (``MattermostClient(session=…)``); None: the client's own connection pool (a real
        server)."""
        ...

    def close(self) -> None: ...


def world_for(run: DemoRun) -> World:
    """The sandbox's state when the demo runs its own sandbox, else the Mattermost the settings
    name (``envol demo --mattermost-url … --token …``), through its API."""
    from plugin.sandbox import Sandbox

    sandbox = run.state.get("sandbox")
    if isinstance(sandbox, Sandbox):
        return SandboxWorld(sandbox)
    settings = run.context.settings
    return ApiWorld(settings.mattermost_url, settings.mattermost_token.get_secret_value())


def app_user(world: World, user_id: str) -> AppUser:
    """The person with this account, acting over the world's HTTP API and WebSocket."""
    return AppUser(world.url, user_id, world.token_for(user_id))


def _post_sign_up(
    http: requests.Session, url: str, email: str, username: str, password: str,
    profile: Mapping[str, str], invite_id: str | None, token: str | None,
) -> str:  # fmt: skip
    params = {"iid": invite_id} if invite_id is not None else {"t": token or ""}
    response = http.post(
        f"{url}/api/v4/users",
        params=params,
        json={"email": email, "username": username, "password": password, **profile},
        headers={PERSON_HEADER: "1"},
        timeout=TIMEOUT,
    )
    if response.status_code != 201:
        raise SignUpFailed(f"sign-up failed: {response.status_code} {response.text}")
    return str(response.json()["id"])


# ====================================================================== the sandbox


class SandboxWorld:
    """The sandbox's state, read in process (a dictionary look-up where the API costs a call)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.state = sandbox.state
        self._posts_scanned = 0
        # The people's requests go straight into the sandbox's application (in_process.py).
        self._transport = WsgiAdapter(sandbox.wsgi_app)
        self._sign_ups = session_into(sandbox.wsgi_app, sandbox.url)

    @property
    def url(self) -> str:
        return self.sandbox.url

    def team_ids(self) -> list[str]:
        with self.state.lock:
            teams = self.state.teams
            return sorted(teams, key=lambda team_id: str(teams[team_id]["name"]))

    def team_member_ids(self, team_id: str) -> frozenset[str]:
        with self.state.lock:
            return frozenset(self.state.team_member_index.get(team_id, ()))

    def is_team_member(self, team_id: str, user_id: str) -> bool:
        with self.state.lock:
            return self.state.team_member(team_id, user_id) is not None

    def email_of(self, user_id: str) -> str:
        with self.state.lock:
            return str(self.state.users.get(user_id, {}).get("email", ""))

    def username_of(self, user_id: str) -> str:
        with self.state.lock:
            return str(self.state.users.get(user_id, {}).get("username", user_id))

    def user_id_by_email(self, email: str) -> str | None:
        with self.state.lock:
            for user in self.state.users.values():
                if user["email"] == email and not user["delete_at"]:
                    return str(user["id"])
        return None

    def email_invitations(self, start: int) -> list[SentInvitation]:
        with self.state.lock:
            sent = self.state.sent_invites[start:]
            return [SentInvitation(s["email"], s["team_id"], int(s["at"])) for s in sent]

    def invitation_tokens(self, email: str) -> list[tuple[str, int]]:
        with self.state.lock:
            return [
                (token, int(invite["expires_at"]))
                for token, invite in self.state.invite_tokens.items()
                if invite["email"] == email
            ]

    def team_channels(self, team_ids: Iterable[str]) -> list[JSON]:
        teams = set(team_ids)
        with self.state.lock:
            return [
                c
                for c in self.state.channels.values()
                if c["team_id"] in teams and c["type"] in ("O", "P") and not c["delete_at"]
            ]

    def channel(self, channel_id: str) -> JSON:
        with self.state.lock:
            return self.state.channels.get(channel_id) or {}

    def members_among(self, channel_id: str, user_ids: Iterable[str]) -> set[str]:
        with self.state.lock:
            members = self.state.channel_members
            return {uid for uid in user_ids if (channel_id, uid) in members}

    def channels_joined(
        self, user_id: str, channel_ids: Iterable[str], team_ids: Iterable[str]
    ) -> set[str]:
        with self.state.lock:
            members = self.state.channel_members
            return {cid for cid in channel_ids if (cid, user_id) in members}

    def new_posts(self, team_ids: Iterable[str]) -> list[JSON]:
        # Every post, whatever its team: the state keeps them in creation order.
        with self.state.lock:
            posts = self.state.posts
            fresh = list(islice(posts.values(), self._posts_scanned, None))
            self._posts_scanned = len(posts)
        return [p for p in fresh if not p["delete_at"]]

    def sign_up(
        self,
        *,
        email: str,
        username: str,
        profile: Mapping[str, str],
        invite_id: str | None = None,
        token: str | None = None,
    ) -> str:
        return _post_sign_up(
            self._sign_ups, self.url, email, username, SANDBOX_PASSWORD, profile, invite_id, token
        )

    def token_for(self, user_id: str) -> str:
        # Where a real server would have the person sign in: a token made directly.
        return self.sandbox.create_token(user_id)

    def people_transport(self) -> BaseAdapter:
        return self._transport

    def envol_session(self) -> requests.Session | None:
        # The same WSGI application, faults and rate limit included (``plugin.demo.in_process``).
        return session_into(self.sandbox.wsgi_app, self.url)

    def close(self) -> None:
        pass  # nothing held: the sandbox belongs to the stage


# ====================================================================== a real Mattermost


class ApiWorld:
    """A Mattermost observed through its public API v4 with a system admin's token."""

    def __init__(self, url: str, admin_token: str) -> None:
        self._url = url.rstrip("/")
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {admin_token}", PERSON_HEADER: "1"})
        # The people's connections: one pool for all (each person's own keep-alive connection
        # would cost a connect per action); a sign-up carries no token.
        self._people = HTTPAdapter(pool_connections=1, pool_maxsize=4)
        self._sign_ups = requests.Session()
        self._sign_ups.mount("http://", self._people)
        self._sign_ups.mount("https://", self._people)
        self._users: dict[str, JSON] = {}
        self._channels: dict[str, JSON] = {}
        self._passwords: dict[str, str] = {}  # user id -> the password the demo set
        self._since: dict[str, int] = {}  # channel id -> newest create_at seen (ms)
        self._seen: dict[str, set[str]] = {}  # channel id -> ids of posts already given
        self._own_id: str | None = None

    @property
    def url(self) -> str:
        return self._url

    # ------------------------------------------------------------------ HTTP

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One call, tried again after a 429 (waiting what it asks, at most 2 s), a server error
        or a dropped connection: an observer's read is always safe to repeat."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            last = attempt == MAX_ATTEMPTS
            try:
                response = self.http.request(
                    method, f"{self._url}/api/v4{path}", timeout=TIMEOUT, **kwargs
                )
            except requests.ConnectionError:
                if last:
                    raise
                continue
            if response.status_code == 429 and not last:
                wait = response.headers.get("Retry-After", "1")
                time.sleep(min(float(wait) if wait.isdigit() else 1.0, 2.0))
                continue
            if response.status_code >= 500 and not last:
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _get(self, path: str, **params: Any) -> Any:
        response = self._request("GET", path, params=params or None)
        if response.status_code >= 400:
            raise RuntimeError(f"GET {path} -> {response.status_code}: {response.text[:300]}")
        return response.json()

    def _pages(self, path: str, **params: Any) -> Iterator[JSON]:
        page = 0
        while True:
            batch = self._get(path, page=page, per_page=PER_PAGE, **params)
            yield from batch
            if len(batch) < PER_PAGE:
                return
            page += 1

    # ------------------------------------------------------------------ people and teams

    def _user(self, user_id: str) -> JSON:
        user = self._users.get(user_id)
        if user is None:
            response = self._request("GET", f"/users/{user_id}")
            user = response.json() if response.status_code == 200 else {}
            if user:
                self._users[user_id] = user
        return user

    def team_ids(self) -> list[str]:
        teams = list(self._pages("/teams"))
        return [str(t["id"]) for t in sorted(teams, key=lambda t: str(t["name"]))]

    def team_member_ids(self, team_id: str) -> frozenset[str]:
        return frozenset(
            str(m["user_id"]) for m in self._pages(f"/teams/{team_id}/members")
            if not m.get("delete_at")
        )  # fmt: skip

    def is_team_member(self, team_id: str, user_id: str) -> bool:
        response = self._request("GET", f"/teams/{team_id}/members/{user_id}")
        return response.status_code == 200 and not response.json().get("delete_at")

    def email_of(self, user_id: str) -> str:
        return str(self._user(user_id).get("email", ""))

    def username_of(self, user_id: str) -> str:
        return str(self._user(user_id).get("username", user_id))

    def user_id_by_email(self, email: str) -> str | None:
        response = self._request("GET", f"/users/email/{email}")
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise RuntimeError(f"GET /users/email -> {response.status_code}: {response.text}")
        user: JSON = response.json()
        self._users[str(user["id"])] = user
        return None if user.get("delete_at") else str(user["id"])

    def email_invitations(self, start: int) -> list[SentInvitation]:
        return []  # a server keeps them to itself: see the module's docstring

    def invitation_tokens(self, email: str) -> list[tuple[str, int]]:
        return []

    # ------------------------------------------------------------------ channels

    def team_channels(self, team_ids: Iterable[str]) -> list[JSON]:
        found: list[JSON] = []
        for team_id in team_ids:
            found += self._pages(f"/teams/{team_id}/channels")
            found += self._pages(f"/teams/{team_id}/channels/private")
        for channel in found:
            self._channels[str(channel["id"])] = channel
        return [c for c in found if not c.get("delete_at")]

    def channel(self, channel_id: str) -> JSON:
        channel = self._channels.get(channel_id)
        if channel is None:
            response = self._request("GET", f"/channels/{channel_id}")
            channel = response.json() if response.status_code == 200 else {}
            if channel:
                self._channels[channel_id] = channel
        return channel

    def members_among(self, channel_id: str, user_ids: Iterable[str]) -> set[str]:
        members = {str(m["user_id"]) for m in self._pages(f"/channels/{channel_id}/members")}
        return {uid for uid in user_ids if uid in members}

    def channels_joined(
        self, user_id: str, channel_ids: Iterable[str], team_ids: Iterable[str]
    ) -> set[str]:
        mine: set[str] = set()
        for team_id in team_ids:
            mine |= {str(c["id"]) for c in self._get(f"/users/{user_id}/teams/{team_id}/channels")}
        return {cid for cid in channel_ids if cid in mine}

    def _direct_channels(self, team_ids: list[str]) -> list[JSON]:
        """The direct and group messages of every bot and of the token's own account."""
        if self._own_id is None:
            self._own_id = str(self._get("/users/me")["id"])
        owners = [self._own_id] + [str(b["user_id"]) for b in self._pages("/bots")]
        found: dict[str, JSON] = {}
        for owner in dict.fromkeys(owners):
            for team_id in team_ids[:1]:  # direct messages belong to no team: one look is enough
                for channel in self._get(f"/users/{owner}/teams/{team_id}/channels"):
                    if channel["type"] in DIRECT_TYPES:
                        found[str(channel["id"])] = channel
        self._channels.update(found)
        return list(found.values())

    # ------------------------------------------------------------------ posts

    def _channel_posts(self, channel_id: str) -> list[JSON]:
        """The channel's posts since the last look, oldest first (all of them at the first)."""
        since = self._since.get(channel_id)
        path = f"/channels/{channel_id}/posts"
        lists: list[JSON] = []
        if since is None:
            while not lists or len(lists[-1]["order"]) == PER_PAGE:
                lists.append(self._get(path, page=len(lists), per_page=PER_PAGE))
        else:
            # ``since`` answers posts changed after it; a post of the same millisecond as the
            # newest seen may still come, so look from one millisecond earlier.
            lists.append(self._get(path, since=max(1, since - 1)))
        posts = [p for listing in lists for p in (listing["posts"][i] for i in listing["order"])]
        # Newest first in each answer, ties in creation order: a stable sort on the time alone
        # gives creation order.
        posts.sort(key=lambda p: int(p["create_at"]))
        seen = self._seen.setdefault(channel_id, set())
        fresh = [p for p in posts if p["id"] not in seen and not p.get("delete_at")]
        seen.update(str(p["id"]) for p in posts)
        if posts:
            self._since[channel_id] = max(
                self._since.get(channel_id, 0), max(int(p["create_at"]) for p in posts)
            )
        else:
            self._since.setdefault(channel_id, 1)
        return fresh

    def new_posts(self, team_ids: Iterable[str]) -> list[JSON]:
        teams = list(team_ids)
        channels = self.team_channels(teams) + self._direct_channels(teams)
        fresh: list[JSON] = []
        for channel in sorted(channels, key=lambda c: str(c["name"])):
            since = self._since.get(str(channel["id"]))
            if since is not None and int(channel.get("last_post_at") or 0) < since:
                continue  # nothing posted since the last look: one call saved per quiet channel
            fresh += self._channel_posts(str(channel["id"]))
        return fresh

    # ------------------------------------------------------------------ the operator's moves

    def sign_up(
        self,
        *,
        email: str,
        username: str,
        profile: Mapping[str, str],
        invite_id: str | None = None,
        token: str | None = None,
    ) -> str:
        # Strong enough for any password policy: upper and lower case, digits, a symbol.
        password = f"Envol-{secrets.token_urlsafe(12)}-9a"
        user_id = _post_sign_up(
            self._sign_ups, self.url, email, username, password, profile, invite_id, token
        )
        self._passwords[user_id] = password
        return user_id

    def token_for(self, user_id: str) -> str:
        password = self._passwords.get(user_id)
        if password is not None:
            response = requests.post(
                f"{self.url}/api/v4/users/login",
                json={"id": user_id, "password": password},
                headers={PERSON_HEADER: "1"},
                timeout=TIMEOUT,
            )
            if response.status_code == 200 and response.headers.get("Token"):
                return str(response.headers["Token"])
            raise RuntimeError(f"log in failed: {response.status_code} {response.text[:300]}")
        response = self._request(
            "POST", f"/users/{user_id}/tokens", json={"description": "envol demo rehearsal"}
        )
        if response.status_code >= 400:
            raise RuntimeError(
                f"a token for {user_id} was refused: {response.status_code} {response.text[:300]}"
            )
        return str(response.json()["token"])

    def people_transport(self) -> BaseAdapter:
        return self._people

    def envol_session(self) -> requests.Session | None:
        return None

    def close(self) -> None:
        self._sign_ups.close()
        self.http.close()
