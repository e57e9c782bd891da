"""A whole support world on loopback: the sandbox (Mattermost), Envol's Flask app served by
werkzeug in a thread, the slash commands installed, and a task queue run in-process.

Everything between a simulated person and Envol is real HTTP: the person calls the sandbox,
the sandbox calls Envol's command, action and dialog URLs, Envol calls the sandbox back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import BaseWSGIServer, make_server

from plugin.app import EnvolContext, build_context, set_context
from plugin.demo.person import AppUser
from plugin.demo.sandbox_people import as_user
from plugin.mattermost import MattermostClient
from plugin.models import metadata
from plugin.sandbox import Sandbox
from plugin.settings import RuntimeSettingsStore, load_deploy_settings, runtime_settings_from_config
from plugin.slash_registration.service import TriggerSpec, install_commands

SECRET = "test-secret-key-for-support-0123456789"


@dataclass
class TaskQueue:
    """Stands in for the broker: records what ``enqueue_after_commit`` sends, runs it here."""

    sent: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)

    def send_task(
        self, name: str, args: list[Any] | None = None, kwargs: Any = None, **_: Any
    ) -> None:
        self.sent.append((name, tuple(args or ())))

    def run_all(self, limit: int = 100) -> list[str]:
        from plugin import tasks as envol_tasks
        from plugin.support import tasks as _support_tasks  # noqa: F401 - registers the tasks
        from plugin.surveys import tasks as _survey_tasks  # noqa: F401

        done = []
        while self.sent and limit:
            name, args = self.sent.pop(0)
            envol_tasks.celery_app.tasks[name](*args)
            done.append(name)
            limit -= 1
        self.ran += done
        return done


@dataclass
class SupportWorld:
    sandbox: Sandbox
    context: EnvolContext
    app_url: str
    tasks: TaskQueue
    team_id: str
    support_channel_id: str
    ideas_channel_id: str
    town_square_id: str
    envol_user_id: str
    alice: AppUser  # an employee, French
    bob: AppUser  # an animator, English
    carol: AppUser  # an employee, English
    admin: AppUser  # a system admin

    @property
    def client(self) -> MattermostClient:
        return MattermostClient.from_settings(self.context.settings)

    def token(self, trigger: str = "envol") -> str:
        """The token Mattermost sends with ``/trigger`` (each trigger has its own)."""
        with self.context.sessions() as session:
            from plugin.slash_registration.service import known_tokens

            return known_tokens(session, trigger)[0]

    def post_form(self, path: str, form: dict[str, str], **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.app_url}{path}", data=form, timeout=30, **kwargs)

    def post_json(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.app_url}{path}", json=body, timeout=30, **kwargs)

    def dm_posts(self, user_id: str) -> list[dict[str, Any]]:
        channel = self.client.get_direct_channel(user_id)
        return self.sandbox.posts_in(channel["id"])

    def ephemeral_texts(self, user: AppUser) -> list[str]:
        return [str(p.get("message", "")) for p in user.ephemeral_messages]


def _serve(app_holder: dict[str, Callable[..., Any]]) -> BaseWSGIServer:
    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        return app_holder["app"](environ, start_response)

    return make_server("127.0.0.1", 0, dispatch, threaded=True)


@pytest.fixture
def support_world(
    database_url: str, tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SupportWorld]:
    """The world on the shared sandbox (reset, contract-checked: a test fails on any request
    or response that breaks Mattermost's API contract)."""
    from plugin import tasks as envol_tasks
    from webhooks import create_app

    holder: dict[str, Callable[..., Any]] = {}
    server = _serve(holder)
    app_url = f"http://127.0.0.1:{server.server_port}"
    # The account Envol acts as: a system admin with a personal access token.
    envol = sandbox.create_user("envol", first_name="Envol")
    sandbox.make_system_admin(envol["id"])
    team = sandbox.create_team("entreprise", admin_id=envol["id"])
    support = sandbox.create_channel(team["id"], "support")
    ideas = sandbox.create_channel(team["id"], "idees")
    town_square = sandbox.channel_by_name(team["id"], "town-square")
    people = {}
    for name, locale, first in (
        ("alice", "fr", "Alice"),
        ("bob", "en", "Bob"),
        ("carol", "en", ""),
        ("root", "en", "Root"),
    ):
        user = sandbox.create_user(name, first_name=first, locale=locale)
        sandbox.add_team_member(team["id"], user["id"])
        for channel in (support, ideas):
            sandbox.add_channel_member(channel["id"], user["id"])
        people[name] = user
    sandbox.make_system_admin(people["root"]["id"])
    for channel in (support, ideas):
        sandbox.add_channel_member(channel["id"], envol["id"])
    settings = load_deploy_settings(
        database_url=database_url,
        broker_url=f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        secret_key=SECRET,
        public_url=app_url,
        mattermost_url=sandbox.url,
        mattermost_token=sandbox.create_token(envol["id"]),
    )
    context = build_context(settings)
    context.runtime = RuntimeSettingsStore(
        runtime_settings_from_config({"AnimatorsGroup": "bob", "SupportReminderHours": 24})
    )
    set_context(context)
    queue = TaskQueue()
    monkeypatch.setattr(envol_tasks.celery_app, "send_task", queue.send_task)
    holder["app"] = create_app(context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = MattermostClient.from_settings(settings)
    with context.sessions.begin() as session:
        install_commands(
            session,
            client,
            team_id=team["id"],
            specs=[
                TriggerSpec("envol", "Envol", "Help", "[help]"),
                TriggerSpec("aide", "Envol", "Aide", "[help]"),
            ],
            url=f"{app_url}/commands",
        )
    from webhooks.commands import clear_token_cache

    clear_token_cache()

    def simulated(name: str) -> AppUser:
        return as_user(sandbox, people[name]["id"])

    world = SupportWorld(
        sandbox=sandbox,
        context=context,
        app_url=app_url,
        tasks=queue,
        team_id=team["id"],
        support_channel_id=support["id"],
        ideas_channel_id=ideas["id"],
        town_square_id=town_square["id"],
        envol_user_id=envol["id"],
        alice=simulated("alice"),
        bob=simulated("bob"),
        carol=simulated("carol"),
        admin=simulated("root"),
    )
    try:
        yield world
    finally:
        server.shutdown()
        server.server_close()
        set_context(None)
        with context.engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())
        context.dispose()
