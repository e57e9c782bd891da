from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

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
