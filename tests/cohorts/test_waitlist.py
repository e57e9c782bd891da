from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock, queue, tasks
from plugin.app import EnvolContext
from plugin.audit.models import AuditEvent
from plugin.cohorts.models import CohortMember, WaitlistRequest, WaitlistStatus, Wave
from plugin.cohorts.service import MANAGERS_CHAMPIONS, PILOT, apply_plan, build_plan
from plugin.cohorts.waitlist import (
    CONFIRMATION_TASK,
    approve_request,
    reject_request,
    send_waitlist_confirmation,
    submit_request,
)
from plugin.db import transaction
from plugin.demo.fake_roster import DOMAIN
from plugin.errors import EnvolError
from plugin.people.models import Language, Person
from plugin.settings import RuntimeSettings
from tests.cohorts.test_waves import GOOD, KnownMeasures, launch_wave
from tests.helpers.smtp import SmtpServer


def someone_in(session: Session, wave_name: str) -> Person:
    person = session.scalars(
        select(Person)
        .join(CohortMember, CohortMember.person_id == Person.id)
        .join(Wave, Wave.cohort_id == CohortMember.cohort_id)
        .where(Wave.name == wave_name)
        .order_by(Person.id)
    ).first()
    assert person is not None
    return person


def test_roster_and_company_domain_are_stored_other_domains_are_not(roster_120: Session) -> None:
    person = roster_120.scalars(select(Person).order_by(Person.id)).first()
    assert person is not None

    known = submit_request(roster_120, person.email.upper(), "I want in", Language.FR)
    newcomer = submit_request(roster_120, f"new.comer@{DOMAIN}", "", Language.EN)
    stranger = submit_request(roster_120, "someone@elsewhere.example", "spam", Language.EN)
    allowed = submit_request(roster_120, "x@partner.example", "", Language.EN,
                             extra_domains=["partner.example"])  # fmt: skip
    again = submit_request(roster_120, person.email, "twice", Language.FR)

    assert known is not None and known.person_id == person.id
    assert newcomer is not None and newcomer.person_id is None
    assert stranger is None and allowed is not None
    assert again is known
    with pytest.raises(EnvolError):
        submit_request(roster_120, "not an address", "", Language.FR)


@pytest.mark.usefixtures("late_clock")
def test_approval_places_the_person_first_in_the_next_wave(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    apply_plan(roster_120, build_plan(roster_120, settings, percent=10, seed=5, general_waves=2),
               actor="t")  # fmt: skip
    launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="t",
                measures=KnownMeasures({MANAGERS_CHAMPIONS: GOOD}))  # fmt: skip
    later = someone_in(roster_120, "vague-2")
    request = submit_request(roster_120, later.email, "my team is already there", Language.FR)
    assert request is not None

    approval = approve_request(roster_120, request.id, actor="admin", note="ok")

    assert approval.wave == PILOT
    still_later = roster_120.scalar(
        select(CohortMember.id)
        .join(Wave, Wave.cohort_id == CohortMember.cohort_id)
        .where(Wave.name == "vague-2", CohortMember.person_id == later.id)
    )
    assert still_later is None
    member = roster_120.scalar(
        select(CohortMember)
        .join(Wave, Wave.cohort_id == CohortMember.cohort_id)
        .where(Wave.name == PILOT, CohortMember.person_id == later.id)
    )
    assert member is not None and member.reason == "waitlist (priority)"
    assert request.status == WaitlistStatus.APPROVED and request.wave_id is not None
    with pytest.raises(EnvolError, match="already approved"):
        approve_request(roster_120, request.id, actor="admin")
    pilot = launch_wave(roster_120, PILOT, settings, actor="t",
                        measures=KnownMeasures({MANAGERS_CHAMPIONS: GOOD}))  # fmt: skip
    assert later.id in pilot.person_ids


def test_approving_a_newcomer_adds_them_to_the_roster(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    apply_plan(roster_120, build_plan(roster_120, settings, percent=10, seed=5, general_waves=1),
               actor="t")  # fmt: skip
    request = submit_request(roster_120, f"nina.rossi@{DOMAIN}", "", Language.EN)
    assert request is not None

    approval = approve_request(roster_120, request.id, actor="admin")

    person = roster_120.get(Person, approval.person_id)
    assert person is not None
    assert (person.first_name, person.last_name, person.language) == ("Nina", "Rossi", Language.EN)
    assert approval.wave == MANAGERS_CHAMPIONS


def test_rejection_is_audited_without_the_address(roster_120: Session) -> None:
    person = roster_120.scalars(select(Person)).first()
    assert person is not None
    request = submit_request(roster_120, person.email, "please", Language.FR)
    assert request is not None

    reject_request(roster_120, request.id, actor="admin", note="wait for your wave")

    assert request.status == WaitlistStatus.REJECTED
    events = roster_120.scalars(select(AuditEvent).where(AuditEvent.action.like("waitlist.%")))
    actions = []
    for event in events:
        actions.append(event.action)
        assert person.email not in str(event.details) + event.reason
    assert actions == ["waitlist.requested", "waitlist.rejected"]


def test_confirmation_is_sent_once_in_the_requester_language(
    roster_120: Session, smtp_server: SmtpServer
) -> None:
    person = roster_120.scalars(select(Person)).first()
    assert person is not None
    request = submit_request(roster_120, person.email, "", Language.EN)
    assert request is not None
    send = {"smtp_url": smtp_server.url, "mail_from": "Envol <envol@exemple-sa.example>",
            "company": "Exemple SA"}  # fmt: skip

    assert send_waitlist_confirmation(roster_120, request.id, **send)
    assert not send_waitlist_confirmation(roster_120, request.id, **send)

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == person.email
    assert message["Subject"] == "Your request to join has been received"
    assert "Exemple SA" in message.get_content()
    stored = roster_120.get(WaitlistRequest, request.id)
    assert stored is not None and stored.confirmation_sent_at is not None


def test_a_request_stored_while_the_broker_is_down_gets_its_confirmation_task_once(
    envol_context: EnvolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broker_down(*_: Any, **__: Any) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.celery_app, "send_task", broker_down)
    with transaction(envol_context.sessions) as session:
        request = submit_request(
            session, "nina@exemple.fr", "I want in", Language.EN, extra_domains=["exemple.fr"]
        )
        assert request is not None
        request_id = request.id
    sent: list[tuple[str, list[Any]]] = []
    monkeypatch.setattr(
        tasks.celery_app, "send_task", lambda name, args, kwargs: sent.append((name, args))
    )
    later = clock.now() + queue.SWEEP_GRACE
    assert [queue.send_overdue(envol_context.sessions, now=later) for _ in range(2)] == [1, 0]
    assert sent == [(CONFIRMATION_TASK, [request_id])]
