"""The pieces on their own: planning, the lifecycle, pacing, estimates (leases and the outbox:
``tests/delivery``)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.models import AuditEvent
from plugin.cohorts.models import Cohort, Wave, WaveHandoff
from plugin.delivery import outbox
from plugin.delivery.models import OutboundChannel
from plugin.invitations.dispatcher import _apply_sent
from plugin.invitations.lifecycle import (
    IllegalTransition,
    activate_held,
    first_send,
    transition,
)
from plugin.invitations.models import Invitation, InvitationState, InvitationStrategy
from plugin.invitations.service import plan_wave_invitations
from plugin.invitations.strategies import estimate_duration, take_invite_budget
from plugin.people.models import Person


def _wave_with_people(session: Session, count: int) -> int:
    cohort = Cohort(name="c")
    session.add(cohort)
    session.flush()
    wave = Wave(name="w", cohort_id=cohort.id)
    session.add(wave)
    session.flush()
    session.execute(
        insert(Person),
        [{"email": f"p{n}@x.test", "first_name": "P", "last_name": str(n)} for n in range(count)],
    )
    ids = list(session.scalars(select(Person.id)))
    session.execute(insert(WaveHandoff), [{"wave_id": wave.id, "person_id": i} for i in ids])
    return wave.id


def test_planning_is_idempotent_one_row_per_person_and_wave(
    db_session: Session, frozen_clock: clock.FrozenClock
) -> None:
    wave_id = _wave_with_people(db_session, 5)
    assert plan_wave_invitations(db_session, wave_id) == 5
    assert plan_wave_invitations(db_session, wave_id) == 0
    rows = list(db_session.scalars(select(Invitation)))
    assert len(rows) == 5 and {r.state for r in rows} == {InvitationState.PLANNED}
    assert all(r.due_at == frozen_clock() for r in rows)


def test_transitions_are_checked_and_audited(db_session: Session, frozen_clock: object) -> None:
    wave_id = _wave_with_people(db_session, 1)
    plan_wave_invitations(db_session, wave_id)
    invitation = db_session.scalars(select(Invitation)).one()
    with pytest.raises(IllegalTransition):
        transition(db_session, invitation, InvitationState.ACTIVATED)
    invitation.strategy = InvitationStrategy.ENVOL_EMAIL
    transition(db_session, invitation, InvitationState.SENT)
    transition(db_session, invitation, InvitationState.FAILED, reason="550 for bob@x.test")
    assert invitation.failure_reason == "550 for ***"
    db_session.flush()
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.subject_type == "invitation")
    ).all()
    assert [e.action for e in events] == ["invitation.sent", "invitation.failed"]
    assert events[1].details["from"] == "sent" and "bob@" not in events[1].reason


def test_an_arrival_is_activated_only_on_a_joined_row_its_worker_still_holds(
    db_session: Session, frozen_clock: clock.FrozenClock
) -> None:
    wave_id = _wave_with_people(db_session, 1)
    plan_wave_invitations(db_session, wave_id)
    invitation = db_session.scalars(select(Invitation)).one()
    invitation.strategy = InvitationStrategy.EXISTING_USER
    transition(db_session, invitation, InvitationState.JOINED)
    invitation.lease_owner = "worker-b"  # B took the row over
    invitation.attempts, invitation.last_error = 2, "timeout"
    db_session.flush()
    until = frozen_clock() + dt.timedelta(minutes=10)

    assert activate_held(db_session, invitation.id, "worker-a", until, reason="done") is None
    db_session.refresh(invitation)
    assert invitation.state == InvitationState.JOINED and invitation.attempts == 2

    activated = activate_held(
        db_session, invitation.id, "worker-b", until, reason="done", details={"score": 40}
    )
    assert activated is not None and activated.joined_at == invitation.joined_at
    db_session.flush()
    db_session.refresh(invitation)
    assert invitation.state == InvitationState.ACTIVATED
    assert invitation.activated_at == frozen_clock()
    assert (invitation.attempts, invitation.last_error, invitation.due_at) == (0, "", None)
    assert invitation.lease_expires_at == until
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "invitation.activated")
    ).one()
    assert event.reason == "done" and event.subject_id == str(invitation.id)
    assert event.details == {
        "from": "joined",
        "wave_id": wave_id,
        "person_id": invitation.person_id,
        "strategy": "existing_user",
        "score": 40,
    }
    # Already activated: nothing more is written.
    assert activate_held(db_session, invitation.id, "worker-b", until) is None


def test_the_first_send_in_one_statement_writes_and_audits_what_the_loaded_row_would(
    db_session: Session, frozen_clock: clock.FrozenClock
) -> None:
    wave_id = _wave_with_people(db_session, 3)
    plan_wave_invitations(db_session, wave_id)
    by_orm, by_statement, already_sent = db_session.scalars(
        select(Invitation).order_by(Invitation.id)
    ).all()
    for invitation in (by_orm, by_statement):
        invitation.attempts, invitation.last_error = 3, "421 try later"
    already_sent.sent_at = frozen_clock() - dt.timedelta(days=1)
    db_session.flush()
    now = frozen_clock()
    strategy = InvitationStrategy.ENVOL_EMAIL

    _apply_sent(db_session, by_orm, 0, strategy, [3, 7])
    assert first_send(db_session, by_statement.id, strategy, now + dt.timedelta(days=3), now=now)
    assert not first_send(db_session, already_sent.id, strategy, now, now=now)
    db_session.flush()
    db_session.expire_all()

    columns = [c.key for c in Invitation.__table__.columns if c.key not in ("id", "person_id")]
    orm_row, statement_row, untouched = db_session.scalars(
        select(Invitation).order_by(Invitation.id)
    ).all()
    assert {c: getattr(statement_row, c) for c in columns} == {
        c: getattr(orm_row, c) for c in columns
    }
    assert statement_row.state == InvitationState.SENT
    assert statement_row.due_at == now + dt.timedelta(days=3)
    assert untouched.state == InvitationState.PLANNED
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "invitation.sent").order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.actor, e.reason, e.subject_id) for e in events] == [
        ("invitation.sent", "envol", "", str(orm_row.id)),
        ("invitation.sent", "envol", "", str(statement_row.id)),
    ]
    assert events[1].details == {**events[0].details, "person_id": statement_row.person_id}


def test_the_mattermost_invitation_allowance_is_20_an_hour(
    db_session: Session, frozen_clock: clock.FrozenClock
) -> None:
    now = clock.now()
    assert take_invite_budget(db_session, "bot", 15, now) == 15
    assert take_invite_budget(db_session, "bot", 15, now) == 5
    assert take_invite_budget(db_session, "bot", 15, now + dt.timedelta(minutes=3)) == 1
    assert take_invite_budget(db_session, "bot", 50, now + dt.timedelta(hours=5)) == 20


def test_the_duration_estimate_recommends_envol_email_for_a_big_wave() -> None:
    slow = estimate_duration(InvitationStrategy.MATTERMOST_EMAIL, 1500)
    assert slow.duration == dt.timedelta(hours=75) and slow.too_slow
    assert "envol_email" in slow.describe()
    fast = estimate_duration(InvitationStrategy.ENVOL_EMAIL, 1500)
    assert not fast.too_slow and fast.duration < dt.timedelta(minutes=5)


def test_forgetting_a_person_keeps_an_anonymous_invitation_and_deletes_what_was_sent(
    db_session: Session, frozen_clock: object
) -> None:
    from plugin.delivery.models import OutboundMessage
    from plugin.people.forget import forget_person

    wave_id = _wave_with_people(db_session, 2)
    plan_wave_invitations(db_session, wave_id)
    person = db_session.scalars(select(Person).where(Person.email == "p0@x.test")).one()
    outbox.begin(
        db_session, "welcome:x", kind="welcome", channel=OutboundChannel.DIRECT_MESSAGE,
        owner="a", person_id=person.id, in_flight=dt.timedelta(minutes=10),
    )  # fmt: skip
    db_session.flush()
    report = forget_person(db_session, "p0@x.test", actor="test")
    assert report.counts["invitations anonymised"] == 1
    assert report.counts["messages sent deleted"] == 1
    invitations = db_session.scalars(select(Invitation)).all()
    assert len(invitations) == 2 and sum(i.person_id is None for i in invitations) == 1
    assert db_session.scalars(select(OutboundMessage)).all() == []


@pytest.mark.parametrize(
    ("stored", "french"),
    [
        (
            "gave up after 5 attempts: temporary 421: try again later",
            "abandon après 5 tentatives\u00a0: échec temporaire 421\u00a0: try again later",
        ),
        (
            "could not add to the team: team is full",
            "ajout à l'équipe impossible\u00a0: team is full",
        ),
        ("the person was removed from the roster", "la personne a été retirée de l'effectif"),
        ("(no reason)", "(sans raison)"),
        ("a server's own sentence", "a server's own sentence"),
    ],
)
def test_a_failure_reason_is_worded_for_its_reader_and_the_servers_words_kept(
    stored: str, french: str
) -> None:
    from plugin.invitations.failure_reasons import worded_failure

    assert worded_failure(stored, "fr") == french
    assert worded_failure(stored, "en") == stored
