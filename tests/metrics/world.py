"""Pytest plugin: a small company launching in the sandbox (roster, cohorts, waves, simulated
people), for the metrics and reports tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from plugin import clock
from plugin.cohorts.models import Cohort, CohortKind, CohortMember, Wave, WaveStatus
from plugin.demo.simulation import LaunchSimulation
from plugin.mattermost import MattermostClient
from plugin.people.models import Person, PersonRole
from plugin.sandbox import Sandbox
from plugin.settings import RuntimeSettings, runtime_settings_from_config

DEPARTMENTS = ("Ventes", "Informatique", "RH")
SITES = ("Paris", "Lyon")


@dataclass
class LaunchWorld:
    sandbox: Sandbox
    session: Session
    settings: RuntimeSettings
    mm: MattermostClient
    team: dict[str, Any]
    general_id: str
    committee_id: str
    people: list[Person]
    cohorts: dict[str, Cohort]
    waves: dict[str, Wave]
    members: dict[str, list[Person]]
    simulation: LaunchSimulation
    clock: clock.FrozenClock

    def advance(self, days: float) -> None:
        self.clock.advance(dt.timedelta(days=days))


@pytest.fixture
def launch_settings() -> RuntimeSettings:
    return runtime_settings_from_config({})


@pytest.fixture
def world(
    sandbox: Sandbox,
    db_session: Session,
    frozen_clock: clock.FrozenClock,
    launch_settings: RuntimeSettings,
) -> Iterator[LaunchWorld]:
    """24 people in three departments and two sites; a managers cohort (wave 0, open), a pilot
    cohort (wave 1, open) and the rest (wave 2, planned). Nobody has joined yet."""
    settings = launch_settings
    team = sandbox.create_team(settings.team_name, "Exemple")
    general = sandbox.create_channel(team["id"], "lancement", "Lancement")
    committee = sandbox.create_channel(team["id"], settings.committee_channel, "Comité", type="P")
    sandbox.add_team_member(team["id"], sandbox.admin_user_id)
    sandbox.add_channel_member(committee["id"], sandbox.admin_user_id)

    people: list[Person] = []
    for index in range(24):
        person = Person(
            email=f"personne{index}@exemple.fr",
            first_name=f"Prénom{index}",
            last_name=f"Nom{index}",
            department=DEPARTMENTS[index % 3],
            site=SITES[index % 2],
            role=PersonRole.MANAGER if index < 3 else PersonRole.EMPLOYEE,
        )
        db_session.add(person)
        people.append(person)
    db_session.flush()
    for index, person in enumerate(people[3:], start=3):
        person.manager_id = people[index % 3].id
    cohorts = {
        "managers": Cohort(name="Managers et relais", kind=CohortKind.MANAGERS_CHAMPIONS),
        "pilot": Cohort(name="Pilote", kind=CohortKind.PILOT),
        "rest": Cohort(name="Vague 2 : les autres", kind=CohortKind.WAVE),
    }
    db_session.add_all(cohorts.values())
    db_session.flush()
    members = {"managers": people[:6], "pilot": people[6:18], "rest": people[18:]}
    for key, group in members.items():
        for person in group:
            db_session.add(CohortMember(cohort_id=cohorts[key].id, person_id=person.id))
    waves = {
        "managers": Wave(
            name="Vague 0",
            cohort_id=cohorts["managers"].id,
            position=0,
            status=WaveStatus.OPEN,
            opened_at=clock.now(),
        ),
        "pilot": Wave(
            name="Pilote",
            cohort_id=cohorts["pilot"].id,
            position=1,
            status=WaveStatus.OPEN,
            opened_at=clock.now(),
        ),
        "rest": Wave(name="Vague 2", cohort_id=cohorts["rest"].id, position=2),
    }
    db_session.add_all(waves.values())
    db_session.flush()
    mm = MattermostClient(sandbox.url, sandbox.admin_token)
    try:
        yield LaunchWorld(
            sandbox=sandbox,
            session=db_session,
            settings=settings,
            mm=mm,
            team=team,
            general_id=general["id"],
            committee_id=committee["id"],
            people=people,
            cohorts=cohorts,
            waves=waves,
            members=members,
            simulation=LaunchSimulation(sandbox, db_session, team),
            clock=frozen_clock,
        )
    finally:
        mm.close()
