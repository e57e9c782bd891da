"""Erasure by registration (``plugin/erasure.py``): every table holding personal data has an
eraser, and ``people forget`` leaves nothing of the person in any of them.

The personal tables come from the models (columns marked ``info=PERSONAL_DATA`` and keys to
``person.id``), never from a list kept here: a new table with an e-mail, a name, a Mattermost id
or free text fails ``test_every_personal_table_has_a_registered_eraser`` until its capability
registers an eraser, then ``test_forget_leaves_nothing_of_the_person_in_any_personal_table``
until a row of it is added below. That test then reads **every** text column of **every** table
(not only the marked ones) for the person's address, Mattermost id, username and words.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from sqlalchemy import JSON, Column, ForeignKey, Integer, MetaData, String, Table, select
from sqlalchemy.orm import Session

from plugin import clock, erasure
from plugin.audit.models import AuditEvent
from plugin.branding.models import ThemeAssignment
from plugin.campaigns.models import (
    CampaignDelivery,
    CampaignOptOut,
    CampaignStepDecision,
    StepDecision,
)
from plugin.cohorts.models import Cohort, CohortMember, WaitlistRequest, Wave, WaveHandoff
from plugin.console.models import ConsoleSession
from plugin.delivery.models import OutboundChannel, OutboundMessage, OutboundState
from plugin.errors import EnvolError
from plugin.invitations.models import Invitation
from plugin.metrics.models import MetricsSnapshot, ObservedPost, PersonSnapshot
from plugin.models import metadata
from plugin.onboarding.models import ProfileFollowUp
from plugin.people.forget import forget_person
from plugin.people.models import Person, RosterImport
from plugin.support.models import SupportFaqEntry, SupportTicket, TicketCategory
from plugin.surveys.models import Poll, PollVote, SurveyDispatch, SurveyResponse

FORGOTTEN = {
    "email": "dora.forgotten@exemple.fr", "user": "dora" + "x" * 22, "words": "Doramonde",
    "username": "dora.console",
}  # fmt: skip
KEPT = {
    "email": "kim.kept@exemple.fr", "user": "kim" + "y" * 23, "words": "Kimberlane",
    "username": "kim.console",
}  # fmt: skip
# A column whose name says it names someone must be marked PERSONAL_DATA or ACTOR.
NAMES_SOMEONE = re.compile(r"(^|_)(user_id|username|email|actor|first_name|last_name)$|_by$")


def test_every_personal_table_has_a_registered_eraser() -> None:
    personal = erasure.personal_columns(metadata)
    # The derivation sees marks and keys alike (a sample, not the list).
    assert {"email", "mattermost_user_id"} <= set(personal["person"])
    assert "description" in personal["support_ticket"] and "person_id" in personal["invitation"]
    assert erasure.tables_without_eraser(metadata) == []


def test_every_column_that_names_someone_is_marked() -> None:
    unmarked = [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if NAMES_SOMEONE.search(column.name)
        and not (column.info.get("personal_data") or column.info.get("actor"))
    ]
    assert unmarked == []


def test_a_personal_table_without_an_eraser_is_reported() -> None:
    other = MetaData()
    Table("person", other, Column("id", Integer, primary_key=True))
    Table("notes", other, Column("text", String, info=erasure.PERSONAL_DATA))
    Table("visits", other, Column("person_id", ForeignKey("person.id")))
    Table("counters", other, Column("hits", Integer))

    # ``person`` is the roster's eraser's; a marked column or a key to a person needs one.
    assert erasure.tables_without_eraser(other) == ["notes", "visits"]
    assert "counters" not in erasure.personal_columns(other)


def test_forget_refuses_before_every_eraser_is_loaded(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(erasure, "_complete", False)
    with pytest.raises(EnvolError, match=r"must import plugin\.models first"):
        forget_person(db_session, FORGOTTEN["email"], actor="dpo")


def _someone(
    session: Session, who: dict[str, str], wave: Wave, poll: Poll, day: int, helper: str
) -> int:
    """One row in every personal table about ``who``, written in their words; ``helper`` is the
    animator who took and answered their ticket."""
    now = clock.now()
    person = Person(
        email=who["email"], first_name=who["words"], last_name=who["words"],
        mattermost_user_id=who["user"],
    )  # fmt: skip
    session.add(person)
    session.flush()
    pid = person.id
    snapshot = MetricsSnapshot(day=dt.date(2026, 3, day))
    ticket = SupportTicket(
        requester_user_id=who["user"], person_id=pid, category=TicketCategory.QUESTION,
        description=f"{who['words']} asks", answer=f"for {who['words']}",
        assignee_user_id=helper, answered_by=helper, resolved_by=helper,
    )  # fmt: skip
    session.add_all([snapshot, ticket])
    session.flush()
    invitation = Invitation(
        person_id=pid, wave_id=wave.id, mattermost_user_id=who["user"],
        last_error=f"550 {who['email']} unknown",
    )  # fmt: skip
    session.add(invitation)
    session.flush()
    rows: list[Any] = [
        WaitlistRequest(
            email=who["email"], person_id=pid, reason=f"{who['words']} wants in",
            decision_note=f"{who['words']} is welcome", decided_by=f"@{who['username']}",
        ),
        CohortMember(cohort_id=wave.cohort_id, person_id=pid, reason=f"{who['words']} leads",
                     added_by=f"@{who['username']}"),
        WaveHandoff(wave_id=wave.id, person_id=pid, handed_at=now),
        OutboundMessage(
            key=f"welcome:{pid}", kind="welcome", channel=OutboundChannel.DIRECT_MESSAGE,
            state=OutboundState.SENT, person_id=pid, invitation_id=invitation.id,
        ),
        ProfileFollowUp(person_id=pid, mattermost_user_id=who["user"]),
        PersonSnapshot(snapshot_id=snapshot.id, person_id=pid),
        ObservedPost(post_id=f"post-{pid}", channel_id="c" * 26, user_id=who["user"],
                     created_at=now),
        CampaignDelivery(
            step_key="teaser", recipient_key=f"person:{pid}", person_id=pid, channel="email",
            language="fr", due_at=now, next_attempt_at=now, message_ref=f"<teaser-{pid}@x>",
            error=f"550 {who['email']} unknown",
        ),
        CampaignOptOut(person_id=pid),
        SupportFaqEntry(slug=f"faq-{pid}", language="fr", question="?", answer="!",
                        created_by=who["user"]),
        SurveyDispatch(wave_id=wave.id, person_id=pid),
        SurveyResponse(
            user_id=who["user"], person_id=pid, wave_id=wave.id, wave_key=wave.id,
            why_network=4, what_for_me=4, how_to_use=4, what_expected=4,
            comment=f"{who['words']} likes it",
        ),
        PollVote(poll_id=poll.id, user_id=who["user"], option_index=0),
        ThemeAssignment(user_id=who["user"], value="{}"),
        AuditEvent(actor=who["user"], action="support.ticket_opened"),
        # An event about the person's account, and decisions they took in the console.
        AuditEvent(actor="cli", action="theme.applied", subject_type="user",
                   subject_id=who["user"]),
        AuditEvent(actor=f"@{who['username']}", action="campaign.step_approved"),
        ConsoleSession(key_hash=f"{pid:064d}", user_id=who["user"], username=who["username"],
                       role="admin", csrf_token="c", expires_at=now),
        CampaignStepDecision(step_key=f"step-{pid}", decision=StepDecision.APPROVED,
                             decided_by=f"@{who['username']}"),
        Poll(key=f"poll-{pid}", question="?", options=["a", "b"], created_by=who["user"]),
        RosterImport(actor=f"@{who['username']}"),
    ]  # fmt: skip
    session.add_all(rows)
    session.flush()
    return pid


def _traces(session: Session, who: dict[str, str], pid: int) -> dict[str, int]:
    """Per table, the rows that still point at ``who`` (a key to their roster row) or quote them
    (their address, Mattermost id, username or words) in **any** text or JSON column, marked or
    not: a column nobody thought personal is read too."""
    quoted = (who["email"], who["user"], who["username"], who["words"])
    found: dict[str, int] = {}
    for table in metadata.sorted_tables:
        keyed = [c for c in table.columns if any(fk.column.table.name == "person"
                                                 for fk in c.foreign_keys)]  # fmt: skip
        texts = [c for c in table.columns if isinstance(c.type, (String, JSON))]
        if not keyed and not texts:
            continue
        count = 0
        for row in session.execute(select(*keyed, *texts)):
            values = list(row)
            if any(value == pid for value in values[: len(keyed)]) or any(
                any(q in (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                    for q in quoted)
                for v in values[len(keyed):] if v is not None
            ):  # fmt: skip
                count += 1
        found[table.name] = count
    return found


def test_forget_leaves_nothing_of_the_person_in_any_personal_table(db_session: Session) -> None:
    # The forgotten person approved the pilot and opened its wave from the console.
    cohort = Cohort(name="pilote", approved_by=f"@{FORGOTTEN['username']}")
    poll = Poll(key="lunch", question="Où déjeuner ?", options=["ici", "là"])
    db_session.add_all([cohort, poll])
    db_session.flush()
    wave = Wave(name="pilote", cohort_id=cohort.id, gate_overridden_by=f"@{FORGOTTEN['username']}")
    db_session.add(wave)
    db_session.flush()
    forgotten = _someone(db_session, FORGOTTEN, wave, poll, day=1, helper=FORGOTTEN["user"])
    # The forgotten person also answered the other one's ticket, as an animator.
    kept = _someone(db_session, KEPT, wave, poll, day=2, helper=FORGOTTEN["user"])
    before = _traces(db_session, FORGOTTEN, forgotten)
    # Every table with personal data or an author holds a row of the person: the test covers
    # each table the erasers and the marks know of.
    expected = set(erasure.personal_columns(metadata)) | set(erasure.actor_columns(metadata))
    assert sorted(name for name in expected if not before.get(name)) == []
    kept_before = _traces(db_session, KEPT, kept)

    report = forget_person(db_session, FORGOTTEN["email"], actor="dpo")

    assert report.found_in_roster and report.counts["roster entries deleted"] == 1
    assert {name: n for name, n in _traces(db_session, FORGOTTEN, forgotten).items() if n} == {}
    # Only the forgotten person: everyone else's rows are all still there (the audit trail
    # gained the forgetting itself, which names nobody).
    assert _traces(db_session, KEPT, kept) == kept_before
