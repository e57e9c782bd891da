from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.audit.models import AuditEvent
from plugin.cohorts.models import CohortMember, WaitlistRequest, WaitlistStatus, WaveHandoff
from plugin.cohorts.service import MANAGERS_CHAMPIONS, launch_wave
from plugin.cohorts.waitlist import submit_request
from plugin.erasure import registered_erasers
from plugin.invitations.service import plan_wave_invitations
from plugin.people.forget import forget_person
from plugin.people.models import Language, Person
from plugin.settings import runtime_settings_from_config
from tests.cohorts.conftest import READY
from tests.people.rosters import plan_forty_people


@pytest.fixture
def planned(db_session: Session, tmp_path: Path) -> Session:
    return plan_forty_people(db_session, tmp_path)


def test_forget_erases_a_person_everywhere_and_keeps_anonymous_counts(planned: Session) -> None:
    settings = runtime_settings_from_config({})
    launch_wave(
        planned,
        MANAGERS_CHAMPIONS,
        settings,
        actor="t",
        plan_invitations=plan_wave_invitations,
        facts=READY,
        force_reason="the test opens the first wave whatever today's date",
    )
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
    assert registered_erasers()
    report = forget_person(planned, "nobody@nowhere.example", actor="dpo")
    assert report.total == 0 and not report.found_in_roster


def test_envol_people_forget_loads_every_eraser(tmp_path: Path) -> None:
    """In a process of its own, as an admin runs it: nothing else loaded the erasers."""
    env = {**os.environ, "ENVOL_DATABASE_URL": f"sqlite:///{tmp_path / 'envol.db'}"}
    envol = [sys.executable, "-m", "plugin.cli"]
    upgrade = subprocess.run([*envol, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert upgrade.returncode == 0, upgrade.stderr

    result = subprocess.run(
        [*envol, "--lang", "en", "people", "forget", "nobody@exemple.fr", "--yes"],
        env=env,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "nothing found for this address" in result.stdout
