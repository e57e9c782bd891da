"""``/envol status`` and ``/envol wave`` figures: the launch at a glance, typed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from plugin.cohorts.models import Cohort, CohortMember, Wave, WaveStatus
from plugin.metrics.status import TicketCounts, launch_status, waves_overview
from plugin.people.models import Person, PersonStatus
from plugin.support.models import SupportTicket, TicketCategory, TicketStatus
from plugin.surveys.models import SurveyResponse
from plugin.surveys.service import survey_score, survey_score_for_wave


def _person(session: Session, n: int, *, joined: bool, left: bool = False) -> Person:
    person = Person(
        email=f"p{n}@exemple.fr",
        first_name=f"P{n}",
        last_name="Test",
        mattermost_user_id=f"{n:026d}" if joined else None,
        status=PersonStatus.LEFT if left else PersonStatus.ACTIVE,
    )
    session.add(person)
    session.flush()
    return person


def _answer(session: Session, person: Person, wave: Wave | None, scores: tuple[int, ...]) -> None:
    why, what, how, expected = scores
    session.add(
        SurveyResponse(
            user_id=person.mattermost_user_id or "",
            person_id=person.id,
            wave_id=wave.id if wave else None,
            wave_key=wave.id if wave else 0,
            why_network=why,
            what_for_me=what,
            how_to_use=how,
            what_expected=expected,
        )
    )


def _world(session: Session) -> tuple[list[Person], Wave, Wave]:
    people = [_person(session, n, joined=n < 3) for n in range(4)]
    _person(session, 9, joined=True, left=True)  # left the company: not counted
    pilot, later = Cohort(name="Pilote"), Cohort(name="Vague 2")
    session.add_all([pilot, later])
    session.flush()
    session.add_all(CohortMember(cohort_id=pilot.id, person_id=p.id) for p in people[:3])
    opened = dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)
    first = Wave(
        name="Pilote", cohort_id=pilot.id, position=0, status=WaveStatus.OPEN, opened_at=opened
    )
    second = Wave(name="Vague 2", cohort_id=later.id, position=1)
    session.add_all([first, second])
    session.flush()
    _answer(session, people[0], first, (5, 4, 4, 3))  # 4.0
    _answer(session, people[1], first, (3, 3, 3, 3))  # 3.0
    _answer(session, people[2], None, (1, 1, 1, 1))  # answered outside any wave
    for status in (TicketStatus.OPEN, TicketStatus.TAKEN, TicketStatus.RESOLVED):
        session.add(
            SupportTicket(
                requester_user_id=people[0].mattermost_user_id,
                category=TicketCategory.QUESTION,
                description="?",
                status=status,
            )
        )
    session.flush()
    return people, first, second


def test_launch_status_counts_people_waves_tickets_and_answers(db_session: Session) -> None:
    _world(db_session)
    status = launch_status(db_session)
    assert (status.active, status.joined, status.join_rate) == (4, 3, 75)
    assert status.waves == {"open": 1, "planned": 1}
    assert status.tickets == TicketCounts(waiting=2, answered=0, resolved=1, self_served=0)
    # Every answer counts: (16 + 12 + 4) / 3 answer sets / 4 questions.
    assert (status.survey.responses, status.survey.score) == (3, 2.67)


def test_an_empty_launch(db_session: Session) -> None:
    status = launch_status(db_session)
    assert (status.active, status.join_rate, status.survey.score) == (0, 0, None)
    assert waves_overview(db_session) == []


def test_the_wave_score_is_the_gate_s_formula(db_session: Session) -> None:
    _, first, second = _world(db_session)
    assert survey_score(db_session, wave_id=first.id).score == 3.5
    assert survey_score_for_wave(db_session, first.id) == 3.5
    assert survey_score_for_wave(db_session, second.id) is None


def test_waves_overview_lists_every_wave_or_one_with_its_cohorts(db_session: Session) -> None:
    _world(db_session)
    every = waves_overview(db_session)
    assert [(w.name, w.status, w.members, w.survey_score, w.cohorts) for w in every] == [
        ("Pilote", "open", 3, 3.5, ()),
        ("Vague 2", "planned", 0, None, ()),
    ]
    assert every[0].opened == dt.date(2027, 3, 1)
    (one,) = waves_overview(db_session, "pilote")  # any case
    assert [(c.cohort_name, c.respondents, c.members, c.score) for c in one.cohorts] == [
        ("Pilote", 2, 3, 3.5)
    ]
    assert waves_overview(db_session, "Vague 9") == []
