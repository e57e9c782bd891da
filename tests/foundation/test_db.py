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


def test_sqlite_sessions_reuse_their_connection_and_a_forked_child_opens_its_own(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    import os

    from sqlalchemy import event

    from plugin.db import make_session_factory, transaction

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    opened: list[int] = []
    event.listen(engine, "connect", lambda *_: opened.append(os.getpid()))
    factory = make_session_factory(engine)
    for _ in range(50):
        with transaction(factory) as session:
            session.execute(text("select 1"))
    assert opened == [os.getpid()]  # one connection for fifty units of work

    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            with transaction(factory) as session:
                session.execute(text("select 1"))
            os.write(write, str(len(opened) == 2 and opened[1] == os.getpid()).encode())
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    assert os.read(read, 10) == b"True"  # the child did not use its parent's connection
    engine.dispose()


def test_a_pooled_connection_after_autocommit_still_leaves_transactions_to_envol(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("create table t (x)"))
    with engine.connect() as connection:
        # None: pysqlite begins nothing on its own; Envol's "begin" event does (IMMEDIATE).
        assert connection.connection.dbapi_connection.isolation_level is None  # type: ignore[union-attr]
    engine.dispose()


def test_sqlite_never_makes_a_thread_wait_for_a_pooled_connection(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    import contextlib

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", pool_timeout=1)
    with contextlib.ExitStack() as stack:
        # More connections at once than the pool keeps (5) plus QueuePool's default overflow.
        held = [stack.enter_context(engine.connect()) for _ in range(40)]
        assert all(c.execute(text("select 1")).scalar() == 1 for c in held)
    engine.dispose()
