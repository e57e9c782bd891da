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
    assert db.schema_drift(empty_database, metadata) == []
    engine = db.make_engine(empty_database)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(metadata.tables) <= tables


def test_drift_is_reported_when_the_database_lags(empty_database: str) -> None:
    assert db.schema_drift(empty_database, metadata)  # nothing migrated yet: pending migrations


def _count(url: str, table: str) -> int:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_round_trip_with_rows_keeps_the_rows_of_the_tables_it_does_not_touch(
    empty_database: str,
) -> None:
    db.upgrade(empty_database)
    head = db.current_revision(empty_database)
    engine = db.make_engine(empty_database)
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
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
                    "details": {"n": 1},
                }
            ],
        )
        connection.execute(
            metadata.tables["person"].insert(),
            [
                {
                    "email": "ana@example.com",
                    "first_name": "Ana",
                    "last_name": "Lopez",
                    "department": "R&D",
                    "site": "Lyon",
                    "role": "employee",
                    "language": "fr",
                    "volunteer": False,
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
    engine.dispose()
    # Down to the launch capabilities (later migrations only add to them: the rows stay),
    # then below them (the capabilities' tables go, with their rows), then up again.
    db.downgrade(empty_database, "0002")
    assert _count(empty_database, "person") == 1
    db.downgrade(empty_database, "0001")
    assert _count(empty_database, "audit_event") == 1
    db.upgrade(empty_database)
    assert db.current_revision(empty_database) == head
    assert db.schema_drift(empty_database, metadata) == []
    assert _count(empty_database, "audit_event") == 1
    assert _count(empty_database, "person") == 0
    # And all the way down and up: an empty, usable schema.
    db.downgrade(empty_database, "base")
    db.upgrade(empty_database)
    assert db.schema_drift(empty_database, metadata) == []
