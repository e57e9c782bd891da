"""The outbox on its own: which attempt may send, and what an error text may keep."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from plugin import clock
from plugin.app import EnvolContext
from plugin.clock import FrozenClock
from plugin.db import transaction
from plugin.delivery import outbox
from plugin.delivery.models import OutboundChannel, OutboundMessage, OutboundState
from plugin.delivery.outbox import scrub


def test_the_outbox_tells_a_fresh_send_from_a_busy_done_or_interrupted_one(
    db_session: Session, frozen_clock: FrozenClock
) -> None:
    lease = dt.timedelta(minutes=10)

    def begin(owner: str) -> outbox.BeginResult:
        return outbox.begin(
            db_session, "k:1", kind="x", channel=OutboundChannel.SMTP, owner=owner, in_flight=lease
        )

    begun = begin("a")
    assert begun.outcome is outbox.Begin.PROCEED
    # "a" may still be sending: another worker leaves it alone for a lease.
    assert begin("b").outcome is outbox.Begin.BUSY
    frozen_clock.advance(lease + dt.timedelta(seconds=1))
    again = begin("b")
    assert again.outcome is outbox.Begin.INTERRUPTED
    outbox.fail(db_session, again.message, "451 later", temporary=True)
    assert begin("b").outcome is outbox.Begin.PROCEED
    outbox.finish(db_session, again.message, "<id@x>")
    assert begin("c").outcome is outbox.Begin.DONE


def test_a_permanent_failure_or_an_uncertain_send_is_never_sent_again(
    db_session: Session, frozen_clock: FrozenClock
) -> None:
    lease = dt.timedelta(minutes=10)
    for key, settle in (
        ("k:failed", lambda m: outbox.fail(db_session, m, "550 for a@b.c", temporary=False)),
        ("k:uncertain", lambda m: outbox.mark_uncertain(db_session, m, "worker died")),
    ):
        begun = outbox.begin(
            db_session, key, kind="x", channel=OutboundChannel.MATTERMOST_INVITE, owner="a",
            in_flight=lease,
        )  # fmt: skip
        settle(begun.message)
        db_session.flush()
        later = outbox.begin(
            db_session, key, kind="x", channel=OutboundChannel.MATTERMOST_INVITE, owner="b",
            in_flight=lease,
        )  # fmt: skip
        assert later.outcome in (outbox.Begin.FAILED, outbox.Begin.DONE)
        assert outbox.message_for(db_session, key).attempts == 1
    assert outbox.message_for(db_session, "k:failed").error == "550 for ***"
    assert outbox.message_for(db_session, "k:uncertain").state == OutboundState.UNCERTAIN


def test_scrub_masks_addresses() -> None:
    assert scrub("invalid: jean.dupont@acme.fr, then <a@b.c>") == "invalid: ***, then <***>"


def test_two_workers_beginning_the_same_key_at_once_send_it_once(
    envol_context: EnvolContext,
) -> None:
    # Worker "a" has inserted the key but not committed yet; worker "b" begins the same key
    # meanwhile (PostgreSQL: its INSERT waits on a's row; SQLite: its transaction waits for
    # the write lock). Once a commits, b is told the message is a's, and no second row exists.
    lease = dt.timedelta(minutes=10)

    def begin(session: Session, owner: str) -> outbox.Begin:
        return outbox.begin(
            session, "k:race", kind="x", channel=OutboundChannel.DIRECT_MESSAGE, owner=owner,
            in_flight=lease,
        ).outcome  # fmt: skip

    outcomes: dict[str, outbox.Begin] = {}

    def worker_b() -> None:
        with transaction(envol_context.sessions) as session:
            outcomes["b"] = begin(session, "b")

    with transaction(envol_context.sessions) as session:
        outcomes["a"] = begin(session, "a")
        racer = threading.Thread(target=worker_b)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive()  # b waits for a's transaction to end
    racer.join(timeout=30)
    assert outcomes == {"a": outbox.Begin.PROCEED, "b": outbox.Begin.BUSY}
    with envol_context.sessions() as session:
        rows = session.scalars(select(OutboundMessage).where(OutboundMessage.key == "k:race"))
        assert [(row.owner, row.attempts) for row in rows] == [("a", 1)]


def test_begin_stores_what_the_orm_stores(
    envol_context: EnvolContext, frozen_clock: FrozenClock
) -> None:
    # ``begin`` inserts with its own statement: the row must be the one an ORM INSERT of the
    # same message stores, byte for byte, and its object must be the row as read back.
    frozen_clock.advance(dt.timedelta(microseconds=123_456))
    channel, channel_ref = OutboundChannel.DIRECT_MESSAGE, "c" * 26
    with transaction(envol_context.sessions) as session:
        begun = outbox.begin(
            session, "k:begin", kind="welcome", channel=channel, owner="a", reference="ref",
            channel_ref=channel_ref, in_flight=dt.timedelta(minutes=10),
        ).message  # fmt: skip
        session.add(
            OutboundMessage(
                key="k:orm", kind="welcome", channel=channel, owner="a", reference="ref",
                channel_ref=channel_ref, state=OutboundState.SENDING, attempts=1,
                started_at=clock.now(),
            )
        )  # fmt: skip
    columns = [c.name for c in OutboundMessage.__table__.columns if c.name not in ("id", "key")]
    compared = [*columns, "key"]
    listed = ", ".join(f'CAST("{name}" AS VARCHAR) AS "{name}"' for name in columns)
    with envol_context.engine.connect() as connection:
        stored = {
            row.key: row._mapping
            for row in connection.execute(text(f'SELECT "key", {listed} FROM outbound_message'))
        }
    assert {n: stored["k:begin"][n] for n in columns} == {n: stored["k:orm"][n] for n in columns}
    with envol_context.sessions() as session:
        read_back = session.get_one(OutboundMessage, begun.id)
        assert {n: getattr(read_back, n) for n in compared} == {
            n: getattr(begun, n) for n in compared
        }


def test_settling_by_key_records_what_settling_the_loaded_row_does(
    db_session: Session, frozen_clock: FrozenClock
) -> None:
    lease = dt.timedelta(minutes=10)
    for key in ("k:loaded", "k:by-key"):
        outbox.begin(
            db_session, key, kind="x", channel=OutboundChannel.SMTP, owner="a", in_flight=lease
        )
    db_session.flush()

    def settled(key: str) -> tuple[object, ...]:
        db_session.flush()  # the loaded row's changes
        db_session.expire_all()  # the UPDATE by key bypassed the identity map
        row = outbox.message_for(db_session, key)
        return row.state, row.reference, row.error, row.finished_at

    frozen_clock.advance(dt.timedelta(seconds=3))
    outbox.fail(db_session, outbox.message_for(db_session, "k:loaded"), "451 a@b.c", temporary=True)
    outbox.fail_key(db_session, "k:by-key", "451 a@b.c", temporary=True)
    assert settled("k:by-key") == settled("k:loaded") == (
        OutboundState.RETRY, "", "451 ***", clock.now(),
    )  # fmt: skip
    outbox.finish(db_session, outbox.message_for(db_session, "k:loaded"), "<id@x>")
    outbox.finish_key(db_session, "k:by-key", "<id@x>")
    outbox.finish_key(db_session, "k:by-key")  # no reference given: the one recorded stays
    assert settled("k:by-key") == settled("k:loaded") == (
        OutboundState.SENT, "<id@x>", "", clock.now(),
    )  # fmt: skip
    with pytest.raises(NoResultFound):  # its person was forgotten meanwhile: nothing recorded
        outbox.finish_key(db_session, "k:forgotten", "<id@x>")
