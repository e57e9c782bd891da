"""The scene a launch plays on: the team, channels, a few named people, Envol's bot, tokens and
the server settings an admin changes before the launch, set over Mattermost's API v4 with a
system admin's token.

The same code sets the scene on the demo's sandbox and on a staging Mattermost (``envol demo
--mattermost-url``): nothing here reaches into the sandbox. Everything is found before it is
created, so a second rehearsal on the same server reuses what the first one made; what this
scene created (not what it found) and the settings it changed (with their previous values) are
kept in a ``SceneRecord``, which ``envol demo --clean`` reads to remove them.

The scene's requests carry the header the sandbox reads as "a person's own device": it is the
admin at their keyboard, not Envol's connection, so ``--faults`` aimed at Envol spares them.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from plugin.demo.fake_roster import DOMAIN
from plugin.demo.person import PERSON_HEADER, AppUser
from plugin.jsontypes import JSON
from plugin.mattermost import MattermostClient, NotFound

if TYPE_CHECKING:
    from plugin.demo.run import DemoRun

SCENE_RECORD_FILE = "rehearsal.json"
TOKEN_DESCRIPTION = "envol demo"


@dataclass
class SceneRecord:
    """What a scene created on one server, by kind (name -> id), and the settings it changed
    (``"Section.Key"`` -> the value before the first change)."""

    server: str = ""
    users: dict[str, str] = field(default_factory=dict)
    bots: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)  # "team/channel" -> id
    tokens: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> SceneRecord:
        if not path.exists():
            return cls()
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True) + "\n", "utf-8")

    def lines(self) -> Iterator[str]:
        """What was created, in words, for the end of a rehearsal."""
        for kind, names in (
            ("team", self.teams),
            ("channel", self.channels),
            ("bot", self.bots),
            ("user", self.users),
        ):
            if names:
                yield f"{len(names)} {kind}(s): " + ", ".join(sorted(names))
        if self.tokens:
            yield f"{self.tokens} personal access token(s) (for the bot and the named people)"
        for key, before in sorted(self.settings.items()):
            yield f"setting {key} changed (was {before!r})"


class Scene:
    """A system admin setting up ``url`` through API v4; see the module's docstring."""

    def __init__(self, url: str, admin_token: str, *, record: Path | None = None) -> None:
        self.url = url.rstrip("/")
        self.admin_token = admin_token
        session = requests.Session()
        session.headers[PERSON_HEADER] = "1"
        self.client = MattermostClient(self.url, admin_token, session=session)
        self._record_path = record
        self.record = SceneRecord.read(record) if record is not None else SceneRecord()
        self.record.server = self.url

    def close(self) -> None:
        self.client.close()

    def _save(self) -> None:
        if self._record_path is not None:
            self.record.write(self._record_path)

    @property
    def admin_user_id(self) -> str:
        return str(self.client.get_me()["id"])

    # ------------------------------------------------------------------ people

    def user(
        self, username: str, *, first_name: str = "", last_name: str = "", locale: str = "en"
    ) -> JSON:
        """The user with this username, created when missing (e-mail in the fictional
        company's reserved domain, so nothing is ever delivered; a random password)."""
        try:
            return self.client.get_user_by_username(username)
        except NotFound:
            pass
        user = self.client.create_user(
            f"{username}@{DOMAIN}",
            username,
            password=secrets.token_urlsafe(18) + "aA1!",
            first_name=first_name,
            last_name=last_name,
            locale=locale,
        )
        self.record.users[username] = str(user["id"])
        self._save()
        return user

    def make_system_admin(self, user_id: str) -> None:
        self.client.set_user_roles(user_id, "system_admin system_user")

    def bot(self, username: str, display_name: str) -> JSON:
        """The bot with this username (``{user_id, …}``), created when missing."""
        found = self.client.find_bot(username)
        if found is not None:
            return found
        bot = self.client.create_bot(username, display_name)
        self.record.bots[username] = str(bot["user_id"])
        self._save()
        return bot

    def token(self, user_id: str) -> str:
        """A new personal access token for this user or bot (needs
        ``ServiceSettings.EnableUserAccessTokens``)."""
        token = str(self.client.create_user_access_token(user_id, TOKEN_DESCRIPTION)["token"])
        self.record.tokens += 1
        self._save()
        return token

    def person(self, user_id: str) -> AppUser:
        """Someone acting as this user over HTTP and the WebSocket, with a token made for them
        (where a real person would have signed in)."""
        return AppUser(self.url, user_id, self.token(user_id))

    # ------------------------------------------------------------------ teams and channels

    def team(self, name: str, display_name: str = "") -> JSON:
        """The team with this name, created (open, so the invite link works) when missing."""
        try:
            return self.client.get_team_by_name(name)
        except NotFound:
            pass
        team = self.client.create_team(name, display_name or name.title(), type="O")
        self.record.teams[name] = str(team["id"])
        self._save()
        return team

    def has_team(self, name: str) -> bool:
        try:
            self.client.get_team_by_name(name)
        except NotFound:
            return False
        return True

    def created_team(self, name: str) -> None:
        """Record a team that Envol created on this scene (the seeding's), for ``--clean``."""
        self.record.teams[name] = str(self.client.get_team_by_name(name)["id"])
        self._save()

    def join_team(self, team_id: str, user_id: str) -> None:
        (result,) = self.client.add_team_members(team_id, [user_id])
        if not result.added:
            raise NotFound(f"{user_id} could not join team {team_id}: {result.error}")

    def channel(self, team: Mapping[str, Any], name: str, display_name: str = "", *,
                private: bool = False) -> JSON:  # fmt: skip
        """The team's channel with this name, created when missing."""
        try:
            return self.client.get_channel_by_name(str(team["id"]), name)
        except NotFound:
            pass
        channel = self.client.create_channel(
            str(team["id"]), name, display_name or name.replace("-", " ").title(),
            type="P" if private else "O",
        )  # fmt: skip
        self.record.channels[f"{team['name']}/{name}"] = str(channel["id"])
        self._save()
        return channel

    def join_channel(self, channel_id: str, user_id: str) -> None:
        self.client.add_channel_members(channel_id, [user_id])

    # ------------------------------------------------------------------ server settings

    def configure(self, patch: Mapping[str, Mapping[str, Any]]) -> None:
        """``PUT /config/patch`` with ``{"Section": {"Key": value}}``; each key's value before
        the first change is recorded, for ``--clean`` to put back."""
        config = self.client.get_config()
        changed: dict[str, dict[str, Any]] = {}
        for section, values in patch.items():
            for key, value in values.items():
                before = (config.get(section) or {}).get(key)
                if before == value:
                    continue
                self.record.settings.setdefault(f"{section}.{key}", before)
                changed.setdefault(section, {})[key] = value
        if changed:
            self.client.patch_config(changed)
            self._save()

    def raise_team_size(self, at_least: int) -> None:
        """``TeamSettings.MaxUsersPerTeam`` to ``at_least`` unless it is already as high."""
        current = self.client.get_config().get("TeamSettings", {}).get("MaxUsersPerTeam") or 0
        if int(current) < at_least:
            self.configure({"TeamSettings": {"MaxUsersPerTeam": at_least}})

    def allow_callbacks_to(self, public_url: str) -> None:
        """Add the webhooks' host to ``ServiceSettings.AllowedUntrustedInternalConnections``:
        Mattermost refuses to call a private or loopback address that is not listed there."""
        host = urlsplit(public_url).hostname or "127.0.0.1"
        current = str(
            self.client.get_config()
            .get("ServiceSettings", {})
            .get("AllowedUntrustedInternalConnections")
            or ""
        )
        listed = current.replace(",", " ").split()
        if host not in listed:
            self.configure(
                {
                    "ServiceSettings": {
                        "AllowedUntrustedInternalConnections": " ".join([*listed, host])
                    }
                }
            )

    # ------------------------------------------------------------------ reading back

    def post(self, post_id: str) -> JSON:
        post = self.client.get_post(post_id)
        if post is None:
            raise NotFound(f"post {post_id} is not on {self.url}")
        return post

    def file(self, file_id: str) -> bytes:
        return self.client.get_file(file_id)


@contextmanager
def scene_of(run: DemoRun) -> Iterator[Scene]:
    """The stage's scene, or one on a sandbox of this step alone (stopped at the end)."""
    shared = run.state.get("scene")
    if isinstance(shared, Scene):
        yield shared
        return
    from plugin.sandbox import Sandbox

    sandbox = Sandbox.start(contract=False, seed=run.seed)
    scene = Scene(sandbox.url, sandbox.admin_token)
    run.state["own_sandbox"] = sandbox  # for a step that reads the sandbox's own records
    try:
        yield scene
    finally:
        run.state.pop("own_sandbox", None)
        scene.close()
        sandbox.stop()
