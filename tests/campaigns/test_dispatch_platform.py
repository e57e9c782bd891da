"""Platform messages through the real adapter against the sandbox (DMs, a channel post)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import select, update

from plugin import clock
from plugin.app import EnvolContext
from plugin.campaigns.dispatcher import CampaignDispatcher, DispatchPolicy
from plugin.campaigns.models import CampaignDelivery, DeliveryStatus
from plugin.campaigns.plan import load_plan
from plugin.campaigns.platform import MattermostPlatformSender
from plugin.campaigns.rendering import RenderSettings
from plugin.db import transaction
from plugin.mail.config import SmtpConfig
from plugin.mail.message import Address
from plugin.mail.sender import SmtpMailer
from plugin.mattermost.client import MattermostClient
from plugin.people.models import Person
from plugin.sandbox import Sandbox
from tests.campaigns.conftest import LAUNCH, PLANNING_TIME, Roster, add_roster
from tests.helpers.smtp import SmtpServer

POST_STEP = """
  - key: launch-post
    kind: launch
    when: J0
    time: "09:00"
    channel: post
    post_to: annonces
    sender: launch-team
"""


@dataclass
class Scene:
    roster: Roster
    plan_dir: Path
    client: MattermostClient
    bot_id: str
    announcements_id: str
    user_ids: dict[str, str]  # person email -> Mattermost user id


@pytest.fixture
def scene(envol_context: EnvolContext, sandbox: Sandbox, plan_copy: Path) -> Iterator[Scene]:
    clock.set_source(clock.FrozenClock(PLANNING_TIME))
    (plan_copy / "plan.yaml").write_text(
        (plan_copy / "plan.yaml").read_text(encoding="utf-8") + POST_STEP, encoding="utf-8"
    )
    for language, text in (
        ("fr", "{{ platform }} est en ligne : {{ links.team }}"),
        ("en", "{{ platform }} is live: {{ links.team }}"),
    ):
        (plan_copy / "templates" / f"launch-post.{language}.md").write_text(
            f'---\nsubject: "{"Bienvenue" if language == "fr" else "Welcome"}"\n---\n{text}\n',
            encoding="utf-8",
        )
    bot = sandbox.create_bot("envol", "Envol")
    team = sandbox.create_team("entreprise", admin_id=sandbox.admin_user_id)
    sandbox.add_team_member(team["id"], bot["user_id"])
    announcements = sandbox.create_channel(team["id"], "annonces")
    sandbox.add_channel_member(announcements["id"], bot["user_id"])
    with transaction(envol_context.sessions) as session:
        roster = add_roster(session)
        user_ids = {}
        for person in roster.employees[:2]:  # Zoé and John are on the platform; the rest not yet
            user = sandbox.create_user(
                person.email.split("@")[0].replace(".", "-"), email=person.email
            )
            person.mattermost_user_id = user["id"]
            user_ids[person.email] = user["id"]
        session.flush()
        session.expunge_all()
    client = MattermostClient(sandbox.url, sandbox.create_token(bot["user_id"]), timeout=5)
    yield Scene(roster, plan_copy, client, bot["user_id"], announcements["id"], user_ids)
    client.close()
    clock.reset()


def _dispatcher(
    context: EnvolContext, scene: Scene, smtp: SmtpServer, settings: RenderSettings
) -> CampaignDispatcher:
    return CampaignDispatcher(
        context.sessions,
        load_plan(scene.plan_dir),
        replace(settings, launch_date=LAUNCH),
        mail_from=Address("envol@exemple.fr", "Envol"),
        mailer_factory=lambda: SmtpMailer(SmtpConfig.from_url(smtp.url)),
        platform=MattermostPlatformSender(scene.client, "entreprise"),
        policy=DispatchPolicy(batch_size=10),
    )


def _dm_channel(sandbox: Sandbox, user_a: str, user_b: str) -> dict:  # type: ignore[type-arg]
    with sandbox.state.lock:
        return dict(sandbox.state.direct_channel(user_a, user_b))


def _at(moment: dt.datetime) -> None:
    clock.set_source(clock.FrozenClock(moment))


def test_dms_for_people_on_the_platform_email_for_the_others_and_one_channel_post(
    envol_context: EnvolContext,
    scene: Scene,
    sandbox: Sandbox,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    _at(dt.datetime(2027, 3, 1, 11, 0, tzinfo=dt.UTC))  # launch day: the post goes out
    report = _dispatcher(envol_context, scene, smtp_server, render_settings).run()
    assert report.materialised["launch-post"] == 1
    [post] = sandbox.posts_in(scene.announcements_id)
    assert post["user_id"] == scene.bot_id
    assert (
        "#### Bienvenue\n\nPasserelle est en ligne\u00a0: https://chat.exemple.fr/entreprise"
        in (post["message"])
    )
    assert "#### Welcome\n\nPasserelle is live:" in post["message"]
    before = len(smtp_server.messages)

    _at(dt.datetime(2027, 3, 8, 11, 0, tzinfo=dt.UTC))  # J+7: the follow-up
    report = _dispatcher(envol_context, scene, smtp_server, render_settings).run()
    assert report.materialised == {"follow-up": 5} and report.sent == 5
    zoe, john, francois = scene.roster.employees
    for person, greeting in ((zoe, "Bonjour Zoé,"), (john, "Hello John,")):
        channel = _dm_channel(sandbox, scene.bot_id, scene.user_ids[person.email])
        [dm] = sandbox.posts_in(channel["id"])
        assert greeting in dm["message"] and dm["user_id"] == scene.bot_id
    followups = smtp_server.messages[before:]
    assert sorted(m["To"].addresses[0].addr_spec for m in followups) == sorted(
        [scene.roster.ceo.email, scene.roster.manager.email, francois.email]
    )
    assert followups[0]["List-Unsubscribe"] is not None
    # Again: nothing more anywhere.
    _dispatcher(envol_context, scene, smtp_server, render_settings).run()
    assert len(sandbox.posts_in(scene.announcements_id)) == 1
    assert len(smtp_server.messages) == before + 3


def test_a_dm_whose_outcome_was_lost_is_found_by_its_marker_and_not_posted_again(
    envol_context: EnvolContext,
    scene: Scene,
    sandbox: Sandbox,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _at(dt.datetime(2027, 3, 8, 11, 0, tzinfo=dt.UTC))
    original = CampaignDispatcher._finish

    class Killed(BaseException):
        pass

    def crash_after_first_dm(self, row, status, *args, **kwargs):  # type: ignore[no-untyped-def]
        if row.channel == "dm" and status == DeliveryStatus.SENT:
            raise Killed
        return original(self, row, status, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(CampaignDispatcher, "_finish", crash_after_first_dm)
        with pytest.raises(Killed):
            _dispatcher(envol_context, scene, smtp_server, render_settings).run()
    _at(dt.datetime(2027, 3, 8, 11, 30, tzinfo=dt.UTC))  # the lease (10 min) has expired
    report = _dispatcher(envol_context, scene, smtp_server, render_settings).run()
    # The DM, and the batch's e-mails the connections had already sent (and journalled) when
    # the worker died: all found, none sent again.
    assert report.recovered >= 1
    for user_id in scene.user_ids.values():
        channel = _dm_channel(sandbox, scene.bot_id, user_id)
        assert len(sandbox.posts_in(channel["id"])) == 1
    assert len({m["Message-ID"] for m in smtp_server.messages}) == len(smtp_server.messages)


def test_a_person_who_left_is_skipped(
    envol_context: EnvolContext,
    scene: Scene,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    _at(dt.datetime(2027, 3, 8, 11, 0, tzinfo=dt.UTC))
    dispatcher = _dispatcher(envol_context, scene, smtp_server, render_settings)
    from plugin.campaigns.dispatcher import DispatchReport

    dispatcher.plan_due(clock.now(), DispatchReport())
    with transaction(envol_context.sessions) as session:
        session.execute(
            update(Person).where(Person.id == scene.roster.manager.id).values(status="left")
        )
    report = dispatcher.run()
    assert (report.sent, report.skipped) == (4, 1)


def test_with_a_persons_token_nothing_is_posted_and_the_post_waits(
    envol_context: EnvolContext,
    scene: Scene,
    sandbox: Sandbox,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    _at(dt.datetime(2027, 3, 1, 11, 0, tzinfo=dt.UTC))  # launch day: the channel post is due
    admin = MattermostClient(sandbox.url, sandbox.admin_token, timeout=5)
    dispatcher = _dispatcher(envol_context, replace(scene, client=admin), smtp_server,
                             render_settings)  # fmt: skip
    try:
        report = dispatcher.run()
    finally:
        admin.close()

    assert sandbox.posts_in(scene.announcements_id) == []  # not as the admin's own account
    assert report.sent == 5 and report.retried == 1  # the e-mails left; the post waits
    with envol_context.sessions() as session:
        post_row = session.scalar(
            select(CampaignDelivery).where(CampaignDelivery.channel == "post")
        )
        assert post_row is not None and post_row.status == DeliveryStatus.PLANNED
        assert "a person, not a bot" in post_row.error
    # With the bot's token, the same post goes out, as the bot, once its retry is due.
    _at(dt.datetime(2027, 3, 1, 14, 0, tzinfo=dt.UTC))
    _dispatcher(envol_context, scene, smtp_server, render_settings).run()
    [post] = sandbox.posts_in(scene.announcements_id)
    assert post["user_id"] == scene.bot_id
