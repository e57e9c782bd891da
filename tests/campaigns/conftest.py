"""A small, bilingual roster and the campaign's settings, for the campaign tests."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from plugin import clock
from plugin.campaigns.plan import DEFAULT_PLAN_DIR
from plugin.campaigns.rendering import RenderSettings
from plugin.people.models import Language, Person, PersonRole

LAUNCH = dt.date(2027, 3, 1)  # a Monday, the plugin's default LaunchDate
# Before teaser-1 (J-45 = 2027-01-15 09:30 Paris): planning is done ahead of every step.
PLANNING_TIME = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.UTC)


@dataclass
class Roster:
    ceo: Person
    manager: Person
    employees: list[Person]

    @property
    def everyone(self) -> list[Person]:
        return [self.ceo, self.manager, *self.employees]


def add_roster(session: Session) -> Roster:
    ceo = Person(
        email="claire.martin@exemple.fr",
        first_name="Claire",
        last_name="Martin",
        department="Direction générale",
        site="Paris",
        role=PersonRole.COMMITTEE,
        language=Language.FR,
    )
    session.add(ceo)
    session.flush()
    manager = Person(
        email="helene.dupre@exemple.fr",
        first_name="Hélène",
        last_name="Dupré",
        department="Ventes",
        site="Lyon",
        role=PersonRole.MANAGER,
        language=Language.FR,
        manager_id=ceo.id,
    )
    session.add(manager)
    session.flush()
    employees = [
        Person(
            email="zoe.lefevre@exemple.fr",
            first_name="Zoé",
            last_name="Lefèvre",
            department="Ventes",
            site="Lyon",
            language=Language.FR,
            manager_id=manager.id,
        ),
        Person(
            email="john.smith@exemple.fr",
            first_name="John",
            last_name="Smith",
            department="Ventes",
            site="London",
            language=Language.EN,
            manager_id=manager.id,
        ),
        Person(
            email="francois.noel@exemple.fr",
            first_name="François",
            last_name="Noël",
            department="Ventes",
            site="Lyon",
            language=Language.FR,
            manager_id=manager.id,
            role=PersonRole.CHAMPION,
        ),
    ]
    session.add_all(employees)
    session.flush()
    return Roster(ceo=ceo, manager=manager, employees=employees)


@pytest.fixture
def roster(db_session: Session) -> Roster:
    return add_roster(db_session)


@pytest.fixture
def planning_clock() -> Iterator[clock.FrozenClock]:
    frozen = clock.FrozenClock(PLANNING_TIME)
    clock.set_source(frozen)
    yield frozen
    clock.reset()


@pytest.fixture
def render_settings() -> RenderSettings:
    return RenderSettings(
        company="Exemple SA",
        launch_date=LAUNCH,
        platform_url="https://chat.exemple.fr",
        team_name="entreprise",
        ios_url="https://apps.apple.com/app/mattermost/id1257222717",
        android_url="https://play.google.com/store/apps/details?id=com.mattermost.rn",
        desktop_url="https://mattermost.com/download/",
        support_channel="support",
    )


@pytest.fixture
def plan_copy(tmp_path: Path) -> Path:
    """A copy of the default plan to break on purpose."""
    target = tmp_path / "campaign"
    shutil.copytree(DEFAULT_PLAN_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str, after: str | None = None) -> int:
    """1-based line of the first ``needle`` (after the first ``after``, when given)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if after in line)
    return next(i for i, line in enumerate(lines) if i >= start and needle in line) + 1


def plain(text: str) -> str:
    """French no-break spaces as plain spaces, lines joined: what a reader sees."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def break_plan(plan_dir: Path) -> dict[str, int]:
    """Three mistakes an admin makes (a day without its sign, a yes/no written in words, a key
    in French); the line of each."""
    plan_file = plan_dir / "plan.yaml"
    edit(plan_file, "    when: J-40\n", "    when: J40\n")
    edit(plan_file, "    mandatory: false\n", "    mandatory: peut-être\n")
    edit(plan_file, 'default_time: "09:30"\n', 'default_time: "09:30"\nlangue: fr\n')
    return {
        "when": line_of(plan_file, "when: J40"),
        "mandatory": line_of(plan_file, "mandatory: peut-être"),
        "langue": line_of(plan_file, "langue: fr"),
    }
