"""Looking people up: by Mattermost account (the webhooks), by e-mail (the CLI)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin.audit.service import heartbeat_seen, record
from plugin.cohorts.models import Cohort, CohortMember
from plugin.cohorts.service import cohort_members
from plugin.people.directory import person_by_email, roster_member
from plugin.people.models import Language, Person, PersonRole


def _people(session: Session) -> list[Person]:
    people = [
        Person(
            email="claire@exemple.fr",
            first_name="Claire",
            last_name="Martin",
            department="Direction",
            role=PersonRole.COMMITTEE,
            language=Language.EN,
            mattermost_user_id="c" * 26,
        ),
        Person(email="zoe@exemple.fr", first_name="Zoé", last_name="Lefèvre", department="Ventes"),
    ]
    session.add_all(people)
    session.flush()
    return people


def test_roster_member_by_mattermost_account(db_session: Session) -> None:
    claire, _ = _people(db_session)
    member = roster_member(db_session, "c" * 26)
    assert member is not None and (member.person_id, member.language) == (claire.id, "en")
    assert member.is_committee
    assert roster_member(db_session, "z" * 26) is None


def test_person_by_email_ignores_case_and_spaces(db_session: Session) -> None:
    _, zoe = _people(db_session)
    assert person_by_email(db_session, " ZOE@exemple.fr ") is zoe
    assert person_by_email(db_session, "nobody@exemple.fr") is None


def test_cohort_members_with_their_reason(db_session: Session) -> None:
    claire, zoe = _people(db_session)
    cohort = Cohort(name="Pilote")
    db_session.add(cohort)
    db_session.flush()
    db_session.add_all(
        [
            CohortMember(cohort_id=cohort.id, person_id=zoe.id, reason="drawn"),
            CohortMember(cohort_id=cohort.id, person_id=claire.id, reason="committee"),
        ]
    )
    db_session.flush()
    found = cohort_members(db_session, "Pilote", limit=10)
    assert found.cohort.id == cohort.id
    assert [(p.first_name, why) for p, why in found.members] == [
        ("Claire", "committee"),  # by department: Direction before Ventes
        ("Zoé", "drawn"),
    ]
    assert len(cohort_members(db_session, "Pilote", limit=1).members) == 1


def test_heartbeat_seen(db_session: Session) -> None:
    assert not heartbeat_seen(db_session, "ping-1")
    record(db_session, actor="worker", action="worker.heartbeat", reason="ping-1")
    record(db_session, actor="someone", action="other", reason="ping-2")
    db_session.flush()
    assert heartbeat_seen(db_session, "ping-1") and not heartbeat_seen(db_session, "ping-2")
