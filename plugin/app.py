"""The process-wide wiring: deploy settings, the database engine and sessions.

The CLI, the webhooks and the Celery worker each build one ``EnvolContext`` at start and pass it
down; capability services only ever receive a ``Session`` (and, where needed, an adapter).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from plugin import clock
from plugin.db import make_engine, make_session_factory
from plugin.settings import DeploySettings, RuntimeSettingsStore, load_deploy_settings


@dataclass
class EnvolContext:
    settings: DeploySettings
    engine: Engine
    sessions: sessionmaker[Session]
    runtime: RuntimeSettingsStore = field(default_factory=RuntimeSettingsStore)

    def dispose(self) -> None:
        self.engine.dispose()


_lock = threading.Lock()
_context: EnvolContext | None = None


def build_context(settings: DeploySettings | None = None) -> EnvolContext:
    clock.install_from_environment()
    settings = settings or load_deploy_settings()
    engine = make_engine(settings.database_url)
    return EnvolContext(settings=settings, engine=engine, sessions=make_session_factory(engine))


def follow_plugin_settings(context: EnvolContext, *, max_age: float = 60.0) -> None:
    """Read the runtime settings from Mattermost's config (the plugin's System Console page)
    and re-read them every ``max_age`` seconds, for the long-running processes."""
    from plugin.mattermost import MattermostClient

    settings = context.settings
    if not settings.mattermost_token.get_secret_value():
        return
    clients: list[MattermostClient] = []

    def read() -> dict[str, Any]:
        if not clients:
            # One quick try: an unreachable server keeps the last settings, not a task waiting.
            clients.append(
                MattermostClient.from_settings(settings, timeout=5.0, retry_budget_seconds=0.0)
            )
        return clients[0].get_plugin_settings(settings.effective_plugin_id)

    context.runtime.follow(read, max_age=max_age)


def get_context() -> EnvolContext:
    """The context of this process, built from the environment on first use."""
    global _context
    with _lock:
        if _context is None:
            _context = build_context()
        return _context


def set_context(context: EnvolContext | None) -> None:
    """Install a context (the CLI with its options, tests with their database)."""
    global _context
    with _lock:
        _context = context
