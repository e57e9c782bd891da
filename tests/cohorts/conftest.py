from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from plugin import clock
from plugin.cohorts.guards import LaunchFacts
from plugin.demo.fake_roster import write_roster_csv
from plugin.people.service import import_roster
from plugin.settings import RuntimeSettings, runtime_settings_from_config


@pytest.fixture
def settings() -> RuntimeSettings:
    return runtime_settings_from_config({})


def import_fake_roster(session: Session, tmp_path: Path, people: int, seed: int = 7) -> None:
    path = write_roster_csv(tmp_path / f"roster-{people}-{seed}.csv", people, seed)
    import_roster(session, path, actor="test")


@pytest.fixture
def roster_1500(db_session: Session, tmp_path: Path) -> Session:
    import_fake_roster(db_session, tmp_path, 1500)
    return db_session


@pytest.fixture
def roster_120(db_session: Session, tmp_path: Path) -> Session:
    import_fake_roster(db_session, tmp_path, 120)
    return db_session


# What the layers above report once the launch is ready: the announcement sent, preflight clean.
READY = LaunchFacts(
    announcement_sent_at=dt.datetime(2027, 1, 28, 9, 0, tzinfo=dt.UTC),
    announcement_step="annonce-pdg",
    preflight_ran=True,
)


@pytest.fixture
def late_clock() -> Iterator[clock.FrozenClock]:
    """A clock after every planned date of the default plan (launch day 2027-03-01)."""
    frozen = clock.FrozenClock(dt.datetime(2028, 1, 3, 9, 0, tzinfo=dt.UTC))
    clock.set_source(frozen)
    yield frozen
    clock.reset()
