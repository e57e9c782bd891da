from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.models import AuditEvent
from plugin.audit.service import record
from plugin.db import make_engine


def test_audit_events_round_trip_with_aware_utc_times(db_session: Session, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    record(
        db_session,
        actor="admin",
        action="wave.override",
        subject_type="wave",
        subject_id=3,
        reason="CEO asked",
        details={"criterion": "activation"},
    )
    db_session.flush()
    db_session.expire_all()
    event = db_session.scalars(select(AuditEvent)).one()
    assert event.occurred_at == clock.now()
    assert event.occurred_at.tzinfo is not None
    assert (event.subject_id, event.details) == ("3", {"criterion": "activation"})


def test_naive_datetimes_are_refused(db_session: Session) -> None:
    db_session.add(AuditEvent(occurred_at=dt.datetime(2027, 1, 1), actor="a", action="b"))
    with pytest.raises(Exception, match="naive datetime"):
        db_session.flush()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    engine.dispose()
