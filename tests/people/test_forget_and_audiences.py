from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.audit.models import AuditEvent
from plugin.cohorts.models import CohortMember, WaitlistRequest, WaitlistStatus, WaveHandoff
from plugin.cohorts.service import MANAGERS_CHAMPIONS, apply_plan, build_plan, launch_wave
from plugin.cohorts.waitlist import submit_request
from plugin.errors import EnvolError
from plugin.people.audiences import audience_query, check_audience_exists, parse_audience
from plugin.people.forget import ERASERS, forget_person
from plugin.people.models import Language, Person, PersonRole
from plugin.people.service import import_roster
from plugin.settings import runtime_settings_from_config
from tests.people.rosters import person_row, write_csv


@pytest.fixture
def planned(db_session: Session, tmp_path: Path) -> Session:
    rows = [person_row(n) for n in range(1, 41)]
    rows[4][6] = "champion"
    import_roster(db_session, write_csv(tmp_path / "r.csv", rows), actor="test")
    settings = runtime_settings_from_config({})
    apply_plan(db_session, build_plan(db_session, settings, percent=10, seed=1, general_waves=2),
               actor="test")  # fmt: skip
    return db_session


def test_forget_erases_a_person_everywhere_and_keeps_anonymous_counts(planned: Session) -> None:
    settings = runtime_settings_from_config({})
    launch_wave(planned, MANAGERS_CHAMPIONS, settings, actor="t")
    manager = planned.scalar(select(Person).where(Person.email == "employe1@exemple.fr"))
    assert manager is not None
    manager_id = manager.id
    request = submit_request(planned, "EMPLOYE1@exemple.fr", "I manage people", Language.FR)
    assert request is not None
    planned.flush()
    requests_before = planned.scalar(select(func.count()).select_from(WaitlistRequest))

    report = forget_person(planned, " Employe1@Exemple.fr ", actor="dpo")

    assert report.found_in_roster
    assert report.counts["roster entries deleted"] == 1
    assert report.counts["manager links removed"] == 39
    assert report.counts["waitlist requests anonymised"] == 1
    assert planned.scalar(select(Person).where(Person.id == manager_id)) is None
    for table in (CohortMember, WaveHandoff):
        assert (
            planned.scalar(
                select(func.count()).select_from(table).where(table.person_id == manager_id)
            )
            == 0
        )
    anonymous = planned.get(WaitlistRequest, request.id)
    assert anonymous is not None
    assert (anonymous.email, anonymous.reason, anonymous.person_id) == ("", "", None)
    assert anonymous.status == WaitlistStatus.PENDING
    assert planned.scalar(select(func.count()).select_from(WaitlistRequest)) == requests_before
    event = planned.scalar(select(AuditEvent).where(AuditEvent.action == "person.forgotten"))
    assert event is not None and event.actor == "dpo"
    assert "employe1" not in (str(event.details) + event.reason + event.subject_id).lower()


def test_forget_an_address_only_on_the_waitlist(planned: Session) -> None:
    submit_request(planned, "new.one@exemple.fr", "hello", Language.EN)

    report = forget_person(planned, "new.one@exemple.fr", actor="dpo")

    assert not report.found_in_roster
    assert report.counts == {"waitlist requests anonymised": 1}


def test_every_eraser_returns_counts_for_an_unknown_address(planned: Session) -> None:
    assert ERASERS
    report = forget_person(planned, "nobody@nowhere.example", actor="dpo")
    assert report.total == 0 and not report.found_in_roster


def emails(session: Session, spec: str) -> set[str]:
    return set(session.scalars(audience_query(spec).with_only_columns(Person.email)))


def test_audiences_resolve_to_active_people(planned: Session) -> None:
    champion = planned.scalar(select(Person).where(Person.role == PersonRole.CHAMPION))
    assert champion is not None
    champion.mattermost_user_id = "x" * 26
    gone = planned.scalar(select(Person).where(Person.email == "employe40@exemple.fr"))
    assert gone is not None
    gone.status = gone.status.LEFT
    planned.flush()

    everyone = emails(planned, "everyone")
    assert len(everyone) == 39 and gone.email not in everyone
    assert emails(planned, "managers") == {"employe1@exemple.fr"}
    assert emails(planned, "champions") == {champion.email}
    assert emails(planned, "not-joined") == everyone - {champion.email}
    assert emails(planned, "volunteers") == {f"employe{n}@exemple.fr" for n in (10, 20, 30)}
    assert emails(planned, "service:Ventes") == emails(planned, "department:Ventes")
    assert emails(planned, "site:Lyon") == {p for p in everyone if int(p[7:-11]) % 2}
    assert emails(planned, f"wave:{MANAGERS_CHAMPIONS}") == {"employe1@exemple.fr", champion.email}
    assert emails(planned, f"cohort:{MANAGERS_CHAMPIONS}") == emails(
        planned, f"vague:{MANAGERS_CHAMPIONS}"
    )


@pytest.mark.parametrize("spec", ["", "wave:", "nobody", "department"])
def test_unknown_audiences_are_refused(spec: str) -> None:
    with pytest.raises(EnvolError, match="unknown audience"):
        parse_audience(spec)


def test_a_misspelt_wave_is_not_an_empty_audience(planned: Session) -> None:
    with pytest.raises(EnvolError, match="no wave named"):
        check_audience_exists(planned, "wave:pilot-typo")
