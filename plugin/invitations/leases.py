"""Claiming due rows with a lease, so that two workers never work on the same row at once.

PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` picks rows nobody else is claiming right now,
then the lease is written in the same transaction. SQLite has no row locks: one conditional
``UPDATE … WHERE id IN (due rows) AND lease is free`` runs under the database's single write lock,
so two claimers can never both win a row. The first statement of the transaction is that write,
so SQLite takes the write lock at once (no stale read snapshot to upgrade).

A lease outlives any single step of work (``LEASE``, longer than the adapter's retry budget):
a worker that dies leaves its rows to be reclaimed when the lease expires; a live worker
checks it still holds the lease (``still_mine``) before each send.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from plugin import clock
from plugin.db import is_sqlite, transaction

# Longer than any single send can take (the adapter's retry budget is 60 s): a live worker's
# row is never taken over mid-send. ``ENVOL_INVITATION_LEASE_SECONDS`` overrides it (tests that
# kill workers use a few seconds so the survivors take over quickly).
LEASE = dt.timedelta(minutes=10)


class Leased(Protocol):
    id: InstrumentedAttribute[int]
    due_at: InstrumentedAttribute[dt.datetime | None]
    lease_owner: InstrumentedAttribute[str | None]
    lease_expires_at: InstrumentedAttribute[dt.datetime | None]


def lease_is_free(model: Any, now: dt.datetime) -> ColumnElement[bool]:
    return or_(model.lease_expires_at.is_(None), model.lease_expires_at < now)


def claim_due(
    session: Session,
    model: Any,
    *,
    owner: str,
    now: dt.datetime,
    limit: int,
    where: ColumnElement[bool] | None = None,
    lease: dt.timedelta = LEASE,
) -> list[int]:
    """Lease up to ``limit`` rows of ``model`` due at ``now`` (oldest first) to ``owner``.

    Runs in the caller's transaction; the caller commits at once so the lease is visible.
    """
    condition = and_(model.due_at.is_not(None), model.due_at <= now, lease_is_free(model, now))
    if where is not None:
        condition = and_(condition, where)
    expires = now + lease
    due = select(model.id).where(condition).order_by(model.due_at, model.id).limit(limit)
    bind = session.get_bind()
    if is_sqlite(str(bind.engine.url)):
        session.execute(
            update(model)
            .where(model.id.in_(due.scalar_subquery()), lease_is_free(model, now))
            .values(lease_owner=owner, lease_expires_at=expires)
            .execution_options(synchronize_session=False)
        )
    else:
        ids = list(session.scalars(due.with_for_update(skip_locked=True)))
        if not ids:
            return []
        session.execute(
            update(model)
            .where(model.id.in_(ids))
            .values(lease_owner=owner, lease_expires_at=expires)
            .execution_options(synchronize_session=False)
        )
    return list(
        session.scalars(
            select(model.id)
            .where(model.lease_owner == owner, model.lease_expires_at == expires)
            .order_by(model.due_at, model.id)
        )
    )


def still_mine(
    session: Session,
    model: Any,
    row_id: int,
    owner: str,
    now: dt.datetime,
    lease: dt.timedelta = LEASE,
) -> bool:
    """Re-assert and extend the lease in the caller's transaction (a write, so SQLite locks at
    once): a worker busy on a long batch keeps the rows it is working on.

    The owner column is the lock; expiry only allows another worker to take the row over
    (``claim_due`` then writes its own name). False when that happened: do not send.
    """
    result: Any = session.execute(
        update(model)
        .where(model.id == row_id, model.lease_owner == owner)
        .values(lease_expires_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def release(session: Session, model: Any, row_ids: list[int], owner: str) -> None:
    """Give the rows back (their ``due_at`` already says when they are next due)."""
    if not row_ids:
        return
    session.execute(
        update(model)
        .where(model.id.in_(row_ids), model.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )


@contextlib.contextmanager
def leased_batch(
    sessions: sessionmaker[Session],
    model: Any,
    *,
    owner: str,
    limit: int,
    where: ColumnElement[bool] | None = None,
    lease: dt.timedelta = LEASE,
) -> Iterator[list[int]]:
    """Claim the due rows (committed at once, so other workers see the lease), yield their ids,
    and give them back however the work ends. A worker killed inside leaves them leased until
    the lease expires, then another worker takes them over."""
    with transaction(sessions) as session:
        ids = claim_due(
            session, model, owner=owner, now=clock.now(), limit=limit, where=where, lease=lease
        )
    try:
        yield ids
    finally:
        if ids:
            with transaction(sessions) as session:
                release(session, model, ids, owner)
