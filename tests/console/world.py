"""A launch console world on loopback: the sandbox (Mattermost), Envol's Flask app in a thread,
the slash commands installed, a committee channel, and four people:

* ``claire`` — in the launch team (``LaunchTeam`` setting), French;
* ``root`` — a system admin, English;
* ``victor`` — a member of the committee channel only (a viewer), English;
* ``eve`` — none of those.

Everything between a person and Envol is real HTTP: the person calls the sandbox, the sandbox
calls Envol, Envol calls the sandbox back; the browser side is ``requests`` or Chromium.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from plugin import clock
from plugin.app import EnvolContext, build_context, set_context
from plugin.campaigns.models import (
    CampaignDelivery,
    CampaignStepRun,
    DeliveryStatus,
    StepRunStatus,
)
from plugin.campaigns.plan import StepKind, read_plan
from plugin.demo.mail_catcher import MailCatcher
from plugin.demo.person import AppUser
from plugin.demo.sandbox_people import as_user
from plugin.mattermost import MattermostClient
from plugin.models import metadata
from plugin.sandbox import Sandbox
from plugin.settings import RuntimeSettingsStore, load_deploy_settings, runtime_settings_from_config
from plugin.slash_registration.service import TriggerSpec, install_commands

SECRET = "test-secret-key-for-the-console-0123456789"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/console/signin/[A-Za-z0-9_.\-]+(?:\?next=[^\s)]+)?)")


@dataclass
class ConsoleWorld:
    sandbox: Sandbox
    context: EnvolContext
    app_url: str
    team_id: str
    town_square_id: str
    committee_channel_id: str
    envol_user_id: str
    users: dict[str, dict[str, Any]]
    smtp_url: str = ""
    settings_overrides: dict[str, Any] = field(default_factory=dict)
    app: Any = None
    people: dict[str, AppUser] = field(default_factory=dict)

    def person(self, name: str) -> AppUser:
        """The same app for a name all test long: ephemeral posts reach only the app that was
        open when they were sent, as on Mattermost."""
        if name not in self.people:
            self.people[name] = as_user(self.sandbox, self.users[name]["id"])
        return self.people[name]

    @property
    def client(self) -> MattermostClient:
        return MattermostClient.from_settings(self.context.settings)

    def on_wave_0_date(self, days_early: int = 0) -> None:
        """The clock on wave 0's planned date (launch day 2027-03-01 minus two weeks), or
        ``days_early`` before it; set before signing in, as sessions and sign-in links count
        time on this clock too."""
        moment = dt.datetime(2027, 2, 15, 9, 30, tzinfo=dt.UTC) - dt.timedelta(days=days_early)
        clock.set_source(clock.FrozenClock(moment))

    def ready_to_launch(self) -> None:
        """What a wave's guard rails ask besides the date: preflight clean (the admin's config
        changes) and the CEO's announcement sent (its deliveries recorded as sent)."""
        self.sandbox.patch_config(
            {
                "ServiceSettings": {
                    "EnableBotAccountCreation": True,
                    "EnableUserAccessTokens": True,
                    "AllowedUntrustedInternalConnections": "127.0.0.1",
                }
            }
        )
        plan, _ = read_plan()
        assert plan is not None
        step = next(s for s in plan.steps if s.kind == StepKind.ANNOUNCEMENT)
        key = plan.delivery_key(step)
        sent = dt.datetime(2027, 1, 28, 9, 0, tzinfo=dt.UTC)
        with self.context.sessions.begin() as session:
            session.add(
                CampaignStepRun(
                    step_key=key,
                    status=StepRunStatus.MATERIALISED,
                    due_at=sent,
                    launch_date=dt.date(2027, 3, 1),
                )
            )
            session.add(CampaignDelivery(
                step_key=key, recipient_key="person:0", channel="email", language="fr",
                status=DeliveryStatus.SENT, due_at=sent, next_attempt_at=sent, sent_at=sent,
                message_ref=f"<{key}@test>",
            ))  # fmt: skip
        if self.app is not None:  # the console keeps preflight's verdict for five minutes
            self.app.extensions.pop("envol.console.preflight", None)

    def set_runtime(self, **values: Any) -> None:
        self.settings_overrides.update(values)
        self.context.runtime.refresh(lambda: dict(self.settings_overrides))

    def dm_posts(self, name: str) -> list[dict[str, Any]]:
        channel = self.client.get_direct_channel(self.users[name]["id"])
        return self.sandbox.posts_in(channel["id"])

    def ephemeral_texts(self, name: str) -> list[str]:
        return [str(p.get("message", "")) for p in self.person(name).ephemeral_messages]

    def request_link(self, name: str, command: str = "/envol console") -> str:
        """Type the command as ``name`` and return the link of the DM the bot sends."""
        before = len(self.dm_posts(name))
        self.person(name).run_command(self.town_square_id, command)
        posts = self.dm_posts(name)
        assert len(posts) == before + 1, self.ephemeral_texts(name)
        match = LINK.search(str(posts[-1]["message"]))
        assert match, posts[-1]["message"]
        return match.group(1)

    def sign_in(self, name: str, browser: requests.Session | None = None) -> requests.Session:
        """A browser session signed in as ``name`` by following the DM's link."""
        browser = browser or requests.Session()
        link = self.request_link(name)
        page = browser.get(link, timeout=30)
        assert page.status_code == 200, page.text
        binding = re.search(r'name="binding" value="([^"]+)"', page.text)
        nxt = re.search(r'name="next" value="([^"]+)"', page.text)
        assert binding and nxt
        answer = browser.post(
            link.split("?")[0],
            data={"binding": binding.group(1), "next": nxt.group(1)},
            timeout=30,
        )
        assert answer.status_code == 200 and "/console/" in answer.url, answer.text
        return browser

    def csrf(self, browser: requests.Session, path: str = "/console/") -> str:
        page = browser.get(self.app_url + path, timeout=30)
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert match, page.text[:500]
        return match.group(1)


def _serve(holder: dict[str, Callable[..., Any]]) -> Any:
    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    return make_server("127.0.0.1", 0, dispatch, threaded=True)


@pytest.fixture
def console_world(
    database_url: str,
    tmp_path: Path,
    sandbox: Sandbox,
    smtp_server: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ConsoleWorld]:
    from plugin import tasks as envol_tasks
    from webhooks import create_app
    from webhooks.commands import clear_token_cache

    holder: dict[str, Callable[..., Any]] = {}
    server = _serve(holder)
    app_url = f"http://127.0.0.1:{server.server_port}"
    sandbox.patch_config(
        {
            "TeamSettings": {"MaxUsersPerTeam": 2000},
            "ServiceSettings": {"EnableEmailInvitations": True},
        }
    )
    # Envol acts as its bot account, made a system admin (README: "Run against your Mattermost").
    envol_id = sandbox.create_bot("envol", "Envol")["user_id"]
    sandbox.make_system_admin(envol_id)
    team = sandbox.create_team("entreprise", "Entreprise", admin_id=sandbox.admin_user_id)
    sandbox.add_team_member(team["id"], envol_id)
    committee = sandbox.create_channel(team["id"], "comite-lancement", type="P")
    for name in ("support", "idees", "managers-champions"):
        sandbox.add_channel_member(sandbox.create_channel(team["id"], name)["id"], envol_id)
    sandbox.add_channel_member(committee["id"], envol_id)
    town_square = sandbox.channel_by_name(team["id"], "town-square")
    users: dict[str, dict[str, Any]] = {}
    for name, locale in (("claire", "fr"), ("root", "en"), ("victor", "en"), ("eve", "fr")):
        user = sandbox.create_user(
            name, first_name=name.capitalize(), last_name="Test", locale=locale
        )
        sandbox.add_team_member(team["id"], user["id"])
        users[name] = user
    sandbox.make_system_admin(users["root"]["id"])
    sandbox.add_channel_member(committee["id"], users["victor"]["id"])
    settings = load_deploy_settings(
        database_url=database_url,
        broker_url=f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        secret_key=SECRET,
        public_url=app_url,
        mattermost_url=sandbox.url,
        mattermost_token=sandbox.create_token(envol_id),
        smtp_url=smtp_server.url,
        mail_from="Envol <envol@exemple.fr>",
        example_facts=True,  # the demo's company and launch date, knowingly (preflight)
    )
    context = build_context(settings)
    overrides: dict[str, Any] = {"LaunchTeam": "claire", "TeamName": "entreprise"}
    context.runtime = RuntimeSettingsStore(runtime_settings_from_config(overrides))
    set_context(context)
    monkeypatch.setattr(envol_tasks.celery_app, "send_task", lambda *a, **k: None)
    holder["app"] = create_app(context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with context.sessions.begin() as session:
        install_commands(
            session,
            MattermostClient.from_settings(settings),
            team_id=team["id"],
            specs=[
                TriggerSpec("envol", "Envol", "Envol", "[help]"),
                TriggerSpec("aide", "Envol", "Aide", "[help]"),
            ],
            url=f"{app_url}/commands",
        )
    clear_token_cache()
    world = ConsoleWorld(
        sandbox=sandbox,
        context=context,
        app_url=app_url,
        team_id=team["id"],
        town_square_id=town_square["id"],
        committee_channel_id=committee["id"],
        envol_user_id=envol_id,
        users=users,
        smtp_url=smtp_server.url,
        settings_overrides=overrides,
        app=holder["app"],
    )
    try:
        yield world
    finally:
        clock.reset()
        server.shutdown()
        server.server_close()
        set_context(None)
        with context.engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())
        context.dispose()
