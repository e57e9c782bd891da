"""Approving and holding campaign steps (the dispatcher honours a hold), the step previews and
the test copy sent to one person."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.app import EnvolContext
from plugin.audit.models import AuditEvent
from plugin.campaigns.decisions import approve_step, decisions, hold_step
from plugin.campaigns.dispatcher import CampaignDispatcher, DispatchPolicy
from plugin.campaigns.models import CampaignDelivery, StepDecision
from plugin.campaigns.plan import load_plan
from plugin.campaigns.proof import ProofTarget, preview_step, send_proof
from plugin.campaigns.rendering import RenderSettings
from plugin.db import transaction
from plugin.errors import EnvolError
from plugin.mail.config import SmtpConfig
from plugin.mail.message import Address
from plugin.mail.sender import SmtpMailer
from tests.campaigns.conftest import LAUNCH, PLANNING_TIME, Roster, add_roster
from tests.helpers.smtp import SmtpServer


@pytest.fixture
def world(envol_context: EnvolContext) -> Iterator[Roster]:
    clock.set_source(clock.FrozenClock(PLANNING_TIME))
    with transaction(envol_context.sessions) as session:
        roster = add_roster(session)
        session.expunge_all()
    yield roster
    clock.reset()


def _dispatch(context: EnvolContext, url: str, settings: RenderSettings, day: dt.date) -> None:
    clock.set_source(clock.FrozenClock(dt.datetime.combine(day, dt.time(11), tzinfo=dt.UTC)))
    CampaignDispatcher(
        context.sessions,
        load_plan(),
        replace(settings, launch_date=LAUNCH),
        mail_from=Address("envol@exemple.fr", "Envol"),
        mailer_factory=lambda: SmtpMailer(SmtpConfig.from_url(url)),
        platform=None,
        policy=DispatchPolicy(batch_size=10),
    ).run()


def _sent_steps(context: EnvolContext) -> set[str]:
    with context.sessions() as session:
        return {key.split("/", 1)[1] for key in session.scalars(select(CampaignDelivery.step_key))}


def test_a_held_step_does_not_go_out_until_approved(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    plan = load_plan()
    with transaction(envol_context.sessions) as session:
        with pytest.raises(EnvolError, match="needs a reason"):
            hold_step(session, plan, "teaser-1", actor="@claire", reason=" ")
        assert hold_step(session, plan, "teaser-1", actor="@claire", reason="visuel à revoir")

    _dispatch(envol_context, smtp_server.url, render_settings, dt.date(2027, 1, 15))

    assert smtp_server.messages == []
    assert "teaser-1" not in _sent_steps(envol_context)
    with transaction(envol_context.sessions) as session:
        assert decisions(session, plan)["teaser-1"].decision == StepDecision.HELD
        assert approve_step(session, plan, "teaser-1", actor="@claire", note="visuel validé")

    _dispatch(envol_context, smtp_server.url, render_settings, dt.date(2027, 1, 16))

    assert len(smtp_server.messages) == 5  # everyone, a day late, within the catch-up window
    with envol_context.sessions() as session:
        actions = list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.actor == "@claire")
                .order_by(AuditEvent.id)
            )
        )
    assert actions == ["campaign.step_held", "campaign.step_approved"]


def test_a_step_that_went_out_cannot_be_decided(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    _dispatch(envol_context, smtp_server.url, render_settings, dt.date(2027, 1, 15))
    plan = load_plan()
    with transaction(envol_context.sessions) as session:
        with pytest.raises(EnvolError, match="already gone out"):
            approve_step(session, plan, "teaser-1", actor="@claire")
        with pytest.raises(EnvolError, match="no step 'nope'"):
            hold_step(session, plan, "nope", actor="@claire", reason="x")
        assert approve_step(session, plan, "teaser-2", actor="@claire") is True
        assert approve_step(session, plan, "teaser-2", actor="@claire") is False


def test_previews_render_each_language_for_a_real_recipient(
    db_session: Session, roster: Roster, render_settings: RenderSettings
) -> None:
    plan = load_plan()

    fr, en = preview_step(
        db_session, plan, plan.step("announcement"), render_settings, "envol@exemple.fr"
    )

    assert (fr.language, en.language) == ("fr", "en")
    assert fr.sample.startswith("Claire Martin") and not fr.error
    assert fr.subject.startswith("Passerelle\u00a0: notre nouvelle façon")
    assert "Bonjour Claire," in fr.text and "<h2>Pourquoi</h2>" in fr.html
    assert en.subject.startswith("Passerelle: our new way")
    assert fr.platform_post.startswith("#### Passerelle")
    manager_fr, _ = preview_step(
        db_session, plan, plan.step("manager-message"), render_settings, "envol@exemple.fr"
    )
    assert manager_fr.sender.startswith("Claire Martin")  # Hélène's manager writes to her


def test_a_preview_before_the_roster_uses_a_fictional_colleague(
    db_session: Session, render_settings: RenderSettings
) -> None:
    plan = load_plan()

    [fr, _] = preview_step(
        db_session, plan, plan.step("manager-message"), render_settings, "envol@exemple.fr"
    )

    assert fr.sample.startswith("Camille Durand") and "Bonjour Camille," in fr.text
    assert fr.sender.startswith("Hugo Lambert")  # a fictional manager, no one of launch.yaml


def test_a_test_copy_goes_to_one_person_only(
    db_session: Session, roster: Roster, render_settings: RenderSettings, smtp_server: SmtpServer
) -> None:
    plan = load_plan()
    target = ProofTarget("dan", "d" * 26, "dan@exemple.fr", "Dan Lead")

    class Platform:
        def __init__(self) -> None:
            self.sent: list[tuple[str, str]] = []

        def send_direct_message(self, user_id: str, message: str, *, marker: str) -> str:
            self.sent.append((user_id, message))
            return "post-id"

    platform = Platform()
    with SmtpMailer(SmtpConfig.from_url(smtp_server.url)) as mailer:
        how = send_proof(
            db_session, plan, "announcement", language="en", target=target,
            settings=render_settings, mail_from=Address("envol@exemple.fr", "Envol"),
            mailer=mailer, platform=platform, actor="@dan",
        )  # fmt: skip
    [message] = smtp_server.messages
    assert how == "email"
    assert message["To"].addresses[0].addr_spec == "dan@exemple.fr"
    assert message["Subject"].startswith("[TEST] Passerelle: our new way")
    assert "test copy" in message.get_body(("plain",)).get_content()
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.test_sent"))
    assert event is not None and event.actor == "@dan" and event.details["to"] == "@dan"
    assert "dan@exemple.fr" not in str(event.details)
    assert platform.sent == []
