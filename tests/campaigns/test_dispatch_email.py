"""The dispatcher end to end: a real SMTP server on loopback, both databases, a frozen clock."""

from __future__ import annotations

import datetime as dt
import gc
import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from plugin import clock
from plugin.app import EnvolContext
from plugin.campaigns import dispatcher as dispatcher_module
from plugin.campaigns.dispatcher import CampaignDispatcher, DispatchPolicy
from plugin.campaigns.models import CampaignDelivery, DeliveryStatus
from plugin.campaigns.plan import CampaignPlan, load_plan
from plugin.campaigns.rendering import RenderSettings, TemplateFailure
from plugin.campaigns.service import status_by_step
from plugin.db import transaction
from plugin.delivery.journal import AcceptanceJournal
from plugin.mail.config import SmtpConfig
from plugin.mail.message import Address
from plugin.mail.sender import SmtpMailer
from tests.campaigns.conftest import LAUNCH, PLANNING_TIME, Roster, add_roster
from tests.helpers.smtp import SmtpServer, free_port

PARIS_MORNING = dt.time(11, 0)  # UTC: after every step's time of day in Paris


class SimulatedCrash(BaseException):
    """A worker killed mid-run: not an Exception, so nothing in the dispatcher catches it."""


@pytest.fixture
def world(envol_context: EnvolContext) -> Iterator[Roster]:
    frozen = clock.FrozenClock(PLANNING_TIME)
    clock.set_source(frozen)
    with transaction(envol_context.sessions) as session:
        roster = add_roster(session)
        session.expunge_all()
    yield roster
    clock.reset()


def make_dispatcher(
    context: EnvolContext,
    url: str,
    settings: RenderSettings,
    *,
    launch: dt.date = LAUNCH,
    plan: CampaignPlan | None = None,
    lease: dt.timedelta = dt.timedelta(minutes=10),
) -> CampaignDispatcher:
    return CampaignDispatcher(
        context.sessions,
        plan or load_plan(),
        replace(settings, launch_date=launch),
        mail_from=Address("envol@exemple.fr", "Envol"),
        mailer_factory=lambda: SmtpMailer(SmtpConfig.from_url(url)),
        platform=None,
        policy=DispatchPolicy(lease=lease, batch_size=3),
    )


def at(day: dt.date) -> None:
    clock.set_source(clock.FrozenClock(dt.datetime.combine(day, PARIS_MORNING, tzinfo=dt.UTC)))


def run_days(
    context: EnvolContext,
    url: str,
    settings: RenderSettings,
    first: dt.date,
    last: dt.date,
    *,
    launch: dt.date = LAUNCH,
) -> None:
    day = first
    while day <= last:
        at(day)
        make_dispatcher(context, url, settings, launch=launch).run()
        day += dt.timedelta(days=1)


def deliveries(context: EnvolContext) -> list[CampaignDelivery]:
    with transaction(context.sessions) as session:
        rows = list(session.scalars(select(CampaignDelivery).order_by(CampaignDelivery.id)))
        session.expunge_all()
    return rows


def test_the_whole_campaign_reaches_everyone_once_in_their_language(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    run_days(
        envol_context, smtp_server.url, render_settings, dt.date(2027, 1, 10), dt.date(2027, 3, 12)
    )
    messages = smtp_server.messages
    # 11 steps to 5 people, except the manager message (4 people have a manager).
    assert len(messages) == 10 * 5 + 4
    assert len({m["Message-ID"] for m in messages}) == len(messages)
    per_person = Counter(m["To"].addresses[0].addr_spec for m in messages)
    assert per_person[world.ceo.email] == 10
    assert all(per_person[p.email] == 11 for p in [world.manager, *world.employees])
    assert len({(m["To"].addresses[0].addr_spec, m["Subject"]) for m in messages}) == len(messages)

    def received(person_email: str, subject_start: str) -> list:  # type: ignore[type-arg]
        return [
            m
            for m in messages
            if m["To"].addresses[0].addr_spec == person_email
            and m["Subject"].startswith(subject_start)
        ]

    zoe, john, francois = world.employees
    [announcement] = received(zoe.email, "Passerelle\u00a0: notre nouvelle façon")
    assert (
        announcement["From"].addresses[0].display_name == "Isabelle Moreau"
    )  # the CEO of launch.yaml
    assert announcement["List-Unsubscribe"] is None  # mandatory
    assert announcement["Content-Language"] == "fr"
    text = announcement.get_body(("plain",)).get_content()
    assert "Bonjour Zoé," in text and "Isabelle Moreau, présidente-directrice générale" in text
    html = announcement.get_body(("html",)).get_content()
    assert "<h2>Pourquoi</h2>" in html and "lundi 1er mars 2027" in html
    [english] = received(john.email, "Passerelle: our new way of working together")
    assert "Hello John," in english.get_body(("plain",)).get_content()
    assert english["Content-Language"] == "en"
    [manager_message] = received(francois.email, "Passerelle et notre équipe")
    assert manager_message["From"].addresses[0].display_name == "Hélène Dupré"
    assert manager_message["From"].addresses[0].addr_spec == "lancement@exemple.fr"
    assert manager_message["Reply-To"].addresses[0].addr_spec == world.manager.email
    [teaser] = received(francois.email, "Vos idées méritent d'aller plus loin.")
    assert teaser["List-Unsubscribe"].startswith("<mailto:lancement@exemple.fr?subject=")
    assert "Bonjour François," in teaser.get_body(("plain",)).get_content()
    # Bounces go to Envol's address, whoever the message is from.
    assert {envelope[0] for envelope in smtp_server.handler.envelopes} == {"envol@exemple.fr"}
    # Running again sends nothing more.
    make_dispatcher(envol_context, smtp_server.url, render_settings).run()
    assert len(smtp_server.messages) == 54
    with transaction(envol_context.sessions) as session:
        statuses = status_by_step(session, load_plan())
    assert {s.step_key: s.counts for s in statuses}["manager-message"] == {"sent": 4}
    assert all(s.counts == {"sent": 5} for s in statuses if s.step_key != "manager-message")


def test_moving_launch_day_replans_what_was_not_sent_without_duplicates(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    # Teasers and the announcement go out for a launch on 1 March...
    run_days(
        envol_context, smtp_server.url, render_settings, dt.date(2027, 1, 10), dt.date(2027, 1, 31)
    )
    assert len(smtp_server.messages) == 4 * 5
    # ...on 1 February (J-28) the relay refuses: the manager message is planned, not sent.
    smtp_server.handler.refuse = True
    run_days(
        envol_context, smtp_server.url, render_settings, dt.date(2027, 2, 1), dt.date(2027, 2, 1)
    )
    assert len(smtp_server.messages) == 20
    smtp_server.handler.refuse = False
    # The launch moves two weeks later: the unsent manager message moves with it (J-28 = 15 Feb).
    later = dt.date(2027, 3, 15)
    at(dt.date(2027, 2, 2))
    report = make_dispatcher(envol_context, smtp_server.url, render_settings, launch=later).run()
    assert report.replanned == {"manager-message": 4} and report.sent == 0
    run_days(
        envol_context,
        smtp_server.url,
        render_settings,
        dt.date(2027, 2, 3),
        dt.date(2027, 2, 14),
        launch=later,
    )
    assert len(smtp_server.messages) == 20
    run_days(
        envol_context,
        smtp_server.url,
        render_settings,
        dt.date(2027, 2, 15),
        dt.date(2027, 3, 25),
        launch=later,
    )
    messages = smtp_server.messages
    assert len(messages) == 54
    assert len({(m["To"].addresses[0].addr_spec, m["Subject"]) for m in messages}) == 54
    launch_day = [m for m in messages if m["Subject"].startswith("C'est aujourd'hui")]
    assert {m["Date"].datetime.date() for m in launch_day} == {later}
    reminders = {m["Subject"] for m in messages if m["Subject"].startswith("J-7")}
    assert reminders == {"J-7\u00a0: Passerelle ouvre le lundi 15 mars 2027"}
    # The teasers kept their original date and were not sent again for the new launch.
    teasers = [r for r in deliveries(envol_context) if r.step_key.startswith("lancement/teaser")]
    assert len(teasers) == 15 and all(r.attempts == 1 for r in teasers)


def test_temporary_refusals_are_retried_with_backoff_and_sent_once(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    smtp_server.handler.refuse = True
    at(dt.date(2027, 1, 15))
    report = make_dispatcher(envol_context, smtp_server.url, render_settings).run()
    assert (report.materialised, report.retried, report.sent) == ({"teaser-1": 5}, 5, 0)
    rows = deliveries(envol_context)
    assert {(r.status, r.attempts, r.error_code) for r in rows} == {("planned", 1, 451)}
    assert all(r.next_attempt_at > clock.now() for r in rows)
    # Not due again yet: nothing is attempted.
    assert make_dispatcher(envol_context, smtp_server.url, render_settings).run().attempted == 0
    smtp_server.handler.refuse = False
    clock.set_source(clock.FrozenClock(clock.now() + dt.timedelta(minutes=5)))
    report = make_dispatcher(envol_context, smtp_server.url, render_settings).run()
    assert report.sent == 5 and len(smtp_server.messages) == 5
    assert {(r.status, r.attempts) for r in deliveries(envol_context)} == {("sent", 2)}


def test_a_permanent_refusal_is_recorded_for_the_recipient_and_never_retried(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    john = world.employees[1]
    smtp_server.handler.reject_permanently.add(john.email)
    at(dt.date(2027, 1, 15))
    report = make_dispatcher(envol_context, smtp_server.url, render_settings).run()
    assert (report.sent, report.failed) == (4, 1)
    for _ in range(3):
        clock.set_source(clock.FrozenClock(clock.now() + dt.timedelta(hours=7)))
        assert make_dispatcher(envol_context, smtp_server.url, render_settings).run().attempted == 0
    [failed] = [r for r in deliveries(envol_context) if r.status == DeliveryStatus.FAILED]
    assert (failed.person_id, failed.error_code, failed.attempts) == (john.id, 550, 1)
    assert "mailbox unavailable" in failed.error and john.email not in failed.error
    assert len(smtp_server.messages) == 4


def test_a_relay_that_is_down_delays_everything_and_fails_nobody(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    at(dt.date(2027, 1, 15))
    down = f"smtp://127.0.0.1:{free_port()}?timeout=2"
    report = make_dispatcher(envol_context, down, render_settings).run()
    assert (report.sent, report.failed, report.retried) == (0, 0, 1)
    rows = deliveries(envol_context)
    # One row was tried; the others were given back untried (or never claimed).
    assert sorted(r.attempts for r in rows) == [0, 0, 0, 0, 1]
    assert {r.status for r in rows} == {"planned"}
    clock.set_source(clock.FrozenClock(clock.now() + dt.timedelta(minutes=5)))
    report = make_dispatcher(envol_context, smtp_server.url, render_settings).run()
    assert report.sent == 5 and len(smtp_server.messages) == 5


def test_a_crash_after_the_claim_and_before_the_send_sends_once_after_the_lease(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at(dt.date(2027, 1, 15))

    def killed(self: SmtpMailer, outgoing: object) -> str:
        raise SimulatedCrash

    with monkeypatch.context() as patch:
        patch.setattr(SmtpMailer, "send", killed)
        with pytest.raises(SimulatedCrash):
            make_dispatcher(envol_context, smtp_server.url, render_settings).run()
    # The batch of three whose first send died, and the next batch if it had already been
    # claimed and handed to the connections (the dispatcher claims ahead of the outcomes).
    claimed = {r.id for r in deliveries(envol_context) if r.status == "sending"}
    assert len(claimed) in (3, 5)
    # While the lease holds, nobody touches the claimed rows.
    make_dispatcher(envol_context, smtp_server.url, render_settings).run()
    assert {r.id for r in deliveries(envol_context) if r.status == "sending"} == claimed
    assert len(smtp_server.messages) <= 5 - len(claimed)
    clock.set_source(clock.FrozenClock(clock.now() + dt.timedelta(minutes=11)))
    report = make_dispatcher(envol_context, smtp_server.url, render_settings).run()
    assert report.recovered == 0 and report.sent >= len(claimed)
    assert Counter(m["To"].addresses[0].addr_spec for m in smtp_server.messages) == Counter(
        p.email for p in world.everyone
    )


@pytest.mark.parametrize("connections", [1, 3])
def test_a_crash_after_acceptance_is_recovered_from_the_journal_without_resending(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
    monkeypatch: pytest.MonkeyPatch,
    connections: int,
) -> None:
    """The messages the pool sent on while the worker died recording the first one are
    journalled too: every one of them is recovered, none is sent again."""
    at(dt.date(2027, 1, 15))
    url = f"{smtp_server.url}?connections={connections}"
    original = CampaignDispatcher._finish

    def crash_when_recording_a_send(self, row, status, *args, **kwargs):  # type: ignore[no-untyped-def]
        if status == DeliveryStatus.SENT:
            raise SimulatedCrash
        return original(self, row, status, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(CampaignDispatcher, "_finish", crash_when_recording_a_send)
        with pytest.raises(SimulatedCrash):
            make_dispatcher(envol_context, url, render_settings).run()
    # Accepted by the server, not recorded on the rows: the crash came at the first row's
    # record; by then the second batch had been handed over too (the dispatcher starts the
    # next batch before settling the previous one), so any of the five may have gone, all
    # journalled. How many depends on the threads' timing.
    accepted = len(smtp_server.messages)
    assert 1 <= accepted <= 5
    clock.set_source(clock.FrozenClock(clock.now() + dt.timedelta(minutes=11)))
    report = make_dispatcher(envol_context, url, render_settings).run()
    assert (report.sent, report.recovered) == (5, accepted)
    assert len(smtp_server.messages) == 5
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 5


def test_the_one_window_left_duplicates_with_the_same_message_id(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At least once: a crash between the server's 250 and the journal's commit re-sends that
    one message after the lease, with the same Message-ID (documented in dispatcher.py). The
    pool opens its second connection only after a journalled acceptance, so a journal that
    fails costs one copy, whatever the number of connections."""
    at(dt.date(2027, 1, 15))

    def crash(*args: object, **kwargs: object) -> None:
        raise SimulatedCrash

    with monkeypatch.context() as patch:
        patch.setattr(AcceptanceJournal, "record_many", crash)
        with pytest.raises(SimulatedCrash):
            make_dispatcher(envol_context, smtp_server.url, render_settings).run()
    clock.set_source(clock.FrozenClock(clock.now() + dt.timedelta(minutes=11)))
    make_dispatcher(envol_context, smtp_server.url, render_settings).run()
    ids = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert len(smtp_server.messages) == 6 and sorted(ids.values()) == [1, 1, 1, 1, 2]


def test_claims_are_disjoint_and_never_take_a_leased_row(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    at(dt.date(2027, 1, 15))
    first = make_dispatcher(envol_context, smtp_server.url, render_settings)
    first.plan_due(clock.now(), dispatcher_module.DispatchReport())
    second = make_dispatcher(envol_context, smtp_server.url, render_settings)
    a = {r.id for r in first.claim(clock.now(), 2)}
    b = {r.id for r in second.claim(clock.now(), 2)}
    c = {r.id for r in first.claim(clock.now(), 10)}
    assert len(a) == 2 and len(b) == 2 and len(c) == 1 and not (a & b or a & c or b & c)
    assert second.claim(clock.now(), 10) == []


def test_a_batch_recorded_in_one_statement_keeps_each_rows_own_sent_time(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    at(dt.date(2027, 1, 15))
    moving = clock.FrozenClock(clock.now())
    clock.set_source(moving)

    class Ticking(SmtpMailer):
        def send(self, message):  # type: ignore[no-untyped-def]
            moving.advance(dt.timedelta(seconds=1))  # each e-mail leaves one second later
            return super().send(message)

    dispatcher = make_dispatcher(envol_context, smtp_server.url, render_settings)
    # One connection: the clock ticks in the order the e-mails leave.
    one = f"{smtp_server.url}?connections=1"
    dispatcher.mailer_factory = lambda: Ticking(SmtpConfig.from_url(one))
    report = dispatcher.run()
    assert report.sent == 5 and len(smtp_server.messages) == 5
    rows = sorted(deliveries(envol_context), key=lambda r: (r.sent_at, r.id))
    sent_times = [r.sent_at for r in rows]
    assert len(set(sent_times)) == 5  # not the batch's time: every row its own
    assert [b - a for a, b in itertools.pairwise(sent_times)] == [dt.timedelta(seconds=1)] * 4


def test_a_template_failing_on_the_render_thread_fails_that_recipient_only(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    render = dispatcher_module.render_email_for
    broken = world.employees[1].email

    def failing_for_one(plan, step, language, settings, recipient, default_from, html):  # type: ignore[no-untyped-def]
        if recipient is not None and recipient.person.email == broken:
            raise TemplateFailure("teaser-1.fr.md", 3, "'manager' is undefined")
        return render(plan, step, language, settings, recipient, default_from, html)

    monkeypatch.setattr(dispatcher_module, "render_email_for", failing_for_one)
    at(dt.date(2027, 1, 15))
    report = make_dispatcher(envol_context, smtp_server.url, render_settings).run()
    assert (report.sent, report.failed) == (4, 1)
    assert broken not in {m["To"].addresses[0].addr_spec for m in smtp_server.messages}
    [failed] = [r for r in deliveries(envol_context) if r.status == DeliveryStatus.FAILED]
    assert failed.error.startswith("template: teaser-1.fr.md:3")


def test_a_run_sets_the_process_objects_aside_from_the_collector_and_hands_them_back(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at(dt.date(2027, 1, 15))
    frozen_during: list[int] = []
    send_row = CampaignDispatcher._send_row

    def watching(self: CampaignDispatcher, *args: Any, **kwargs: Any) -> Any:
        frozen_during.append(gc.get_freeze_count())
        return send_row(self, *args, **kwargs)

    monkeypatch.setattr(CampaignDispatcher, "_send_row", watching)
    report = make_dispatcher(envol_context, smtp_server.url, render_settings).run()
    assert report.sent == 5 and len(frozen_during) == 5
    assert min(frozen_during) > 0  # the objects alive before the run were set aside...
    assert gc.get_freeze_count() == 0  # ...and handed back, even after the last batch


def test_a_run_leaves_objects_frozen_by_someone_else_frozen(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    at(dt.date(2027, 1, 15))
    gc.freeze()  # as a pre-fork server does before forking its workers
    try:
        report = make_dispatcher(envol_context, smtp_server.url, render_settings).run()
        assert report.sent == 5
        assert gc.get_freeze_count() > 0  # not unfrozen (only those freed since have left)
    finally:
        gc.unfreeze()


def test_outcomes_and_send_times_are_written_only_where_the_lease_is_still_held(
    envol_context: EnvolContext,
    world: Roster,
    smtp_server: SmtpServer,
    render_settings: RenderSettings,
) -> None:
    at(dt.date(2027, 1, 15))
    dispatcher = make_dispatcher(envol_context, smtp_server.url, render_settings)
    dispatcher.plan_due(clock.now(), dispatcher_module.DispatchReport())
    claimed = dispatcher.claim(clock.now(), 10)
    assert len(claimed) == 5
    taken_over, kept = claimed[0], claimed[1:]
    with transaction(envol_context.sessions) as session:
        session.get_one(CampaignDelivery, taken_over.id).lease_token = "another-worker"
    report = dispatcher_module.DispatchReport()
    for number, row in enumerate(claimed):
        sent_at = clock.now() + dt.timedelta(seconds=number)
        dispatcher._finish(row, DeliveryStatus.SENT, "", report, sent_at=sent_at)
    dispatcher._flush(report)
    assert report.sent == 4
    by_id = {row.id: row for row in deliveries(envol_context)}
    lost = by_id[taken_over.id]
    assert (lost.status, lost.sent_at, lost.lease_token) == ("sending", None, "another-worker")
    assert [by_id[row.id].sent_at for row in kept] == [
        clock.now() + dt.timedelta(seconds=number) for number in range(1, 5)
    ]
    assert {by_id[row.id].status for row in kept} == {"sent"}
