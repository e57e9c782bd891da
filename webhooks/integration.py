"""What the slash command, button and dialog handlers share: settings, signer, Mattermost.

One ``Integration`` per app, built on first use. Its Mattermost client has short timeouts and
a small retry budget: a handler must answer Mattermost well within its deadline.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from plugin.app import EnvolContext
from plugin.errors import EnvolError
from plugin.mattermost import MattermostClient
from plugin.people.directory import roster_member
from plugin.security.service import Signer
from plugin.settings import RuntimeSettings
from webhooks.context import MATTERMOST_SESSION_KEY, envol_context

INTEGRATION_KEY = "envol.integration"
USER_CACHE_SECONDS = 300.0


@dataclass
class UserDirectory:
    """Mattermost users by id, cached briefly: the locale and roles of whoever is typing."""

    client: MattermostClient
    ttl: float = USER_CACHE_SECONDS
    _cache: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, user_id: str, *, fresh: bool = False) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(user_id)
        if cached and not fresh and now - cached[0] < self.ttl:
            return cached[1]
        try:
            user = self.client.get_user(user_id)
        except EnvolError:
            return cached[1] if cached else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[user_id] = (now, user)
        return user


@dataclass
class Integration:
    context: EnvolContext
    signer: Signer
    client: MattermostClient
    users: UserDirectory
    _committee: dict[str, tuple[float, bool]] = field(default_factory=dict)

    @property
    def runtime(self) -> RuntimeSettings:
        return self.context.runtime.current

    @property
    def public_url(self) -> str:
        return self.context.settings.public_url

    def url(self, path: str) -> str:
        return f"{self.public_url}/{path.lstrip('/')}"

    def language_of(self, user_id: str) -> str:
        """The Mattermost ``locale`` (fr/en), else the roster language, else the default."""
        user = self.users.get(user_id)
        locale = str((user or {}).get("locale") or "")[:2].lower()
        if locale in ("fr", "en"):
            return locale
        with self.context.sessions() as session:
            member = roster_member(session, user_id)
        if member is not None:
            return member.language
        return self.runtime.default_language

    def is_admin(self, user_id: str) -> bool:
        """System admins, and launch committee members from the roster (cached briefly, like
        the user: ``help`` asks on every call)."""
        user = self.users.get(user_id) or {}
        if "system_admin" in str(user.get("roles") or "").split():
            return True
        now = time.monotonic()
        cached = self._committee.get(user_id)
        if cached is not None and now - cached[0] < USER_CACHE_SECONDS:
            return cached[1]
        with self.context.sessions() as session:
            member = roster_member(session, user_id)
        committee = member is not None and member.is_committee
        if len(self._committee) > 10_000:
            self._committee.clear()
        self._committee[user_id] = (now, committee)
        return committee

    def is_animator(self, user_id: str) -> bool:
        user = self.users.get(user_id) or {}
        username = str(user.get("username") or "")
        roles = str(user.get("roles") or "")
        return username in self.runtime.animators_group or "system_admin" in roles.split()


_lock = threading.Lock()


def integration(app: Flask | None = None) -> Integration:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found: Integration | None = app.extensions.get(INTEGRATION_KEY)
    if found is not None:
        return found
    with _lock:
        found = app.extensions.get(INTEGRATION_KEY)
        if found is None:
            context = envol_context(app)
            client = MattermostClient.from_settings(
                context.settings,
                timeout=5.0,
                retry_budget_seconds=8.0,
                session=app.extensions.get(MATTERMOST_SESSION_KEY),
            )
            found = Integration(
                context=context,
                signer=Signer(context.settings.secret_keys),
                client=client,
                users=UserDirectory(client),
            )
            app.extensions[INTEGRATION_KEY] = found
    return found
