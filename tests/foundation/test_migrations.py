"""Migrations: upgrade head on an empty database, no drift, and a round trip with rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect, text

from plugin import db
from plugin.models import metadata
from tests.conftest import _create_postgres_database, _drop_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    url, admin = _create_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(admin, url)


def test_upgrade_head_creates_every_table_without_drift(empty_database: str) -> None:
    db.upgrade(empty_database)
    assert db.schema_drift(empty_database) == []
    engine = db.make_engine(empty_database)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(metadata.tables) <= tables


def test_drift_is_reported_when_the_database_lags(empty_database: str) -> None:
    assert db.schema_drift(empty_database)  # nothing migrated yet: pending migrations


def test_downgrade_and_upgrade_round_trip_keeps_working_with_rows(empty_database: str) -> None:
    db.upgrade(empty_database)
    engine = db.make_engine(empty_database)
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    # Put a row in every table that can take one with only defaults for the other columns;
    # the audit trail is the one every capability writes to.
    with engine.begin() as connection:
        connection.execute(
            metadata.tables["audit_event"].insert(),
            [
                {
                    "occurred_at": now,
                    "actor": "test",
                    "action": "roundtrip",
                    "subject_type": "",
                    "subject_id": "",
                    "reason": "",
                    "details": {},
                }
            ],
        )
    engine.dispose()
    db.downgrade(empty_database, "base")
    db.upgrade(empty_database)
    assert db.schema_drift(empty_database) == []
    engine = db.make_engine(empty_database)
    try:
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    finally:
        engine.dispose()
    assert count == 0  # base drops the tables; head recreates them empty and usable


def test_downgrade_one_step_with_rows_keeps_earlier_tables(empty_database: str) -> None:
    db.upgrade(empty_database)
    heads = db.current_revision(empty_database)
    db.downgrade(empty_database, "-1")
    db.upgrade(empty_database)
    assert db.current_revision(empty_database) == heads
