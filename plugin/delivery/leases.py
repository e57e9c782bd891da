"""Claiming due rows with a lease, so that two workers never work on the same row at once.

PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` picks rows nobody else is claiming right now,
then the lease is written in the same transaction. (One ``UPDATE … WHERE id IN (SELECT … LIMIT n
FOR UPDATE)`` is avoided: PostgreSQL may re-run the subquery and update more than n rows.)
SQLite has no row locks: one conditional ``UPDATE … WHERE id IN (due rows) AND lease is free``
runs under the database's single write lock, so two claimers can never both win a row. The first
statement of the transaction is that write, so SQLite takes the write lock at once (a
select-then-update would read a snapshot another writer can make stale: SQLITE_BUSY_SNAPSHOT).

A lease outlives any single step of work (``LEASE``, longer than the adapter's retry budget,
which ``client_limits`` and ``smtp_within`` bound by it): a worker that dies leaves its rows to
be reclaimed when the lease expires; a live worker checks it still holds the lease
(``still_mine``) before each send, and records outcomes only on rows it still holds
(``update_held``).

Every leased table says where it keeps its schedule and its lease (``LeaseColumns``): the
invitations, the arrivals and the profile follow-ups use ``due_at``, ``lease_owner`` and
``lease_expires_at``; the campaign's deliveries ``next_attempt_at`` and ``lease_token``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import socket
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Update, and_, bindparam, inspect, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from plugin import clock
from plugin.db import is_sqlite, transaction
from plugin.errors import ConfigurationError
from plugin.mail import SmtpConfig

# Longer than any single send can take (the adapter's retry budget is 60 s): a live worker's
# row is never taken over mid-send. ``ENVOL_INVITATION_LEASE_SECONDS`` overrides it (tests that
# kill workers use a few seconds so the survivors take over quickly).
LEASE = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class LeaseColumns:
    """The names of a leased table's columns: when the row is next due, who holds it, until when."""

    due: str = "due_at"
    owner: str = "lease_owner"
    expires: str = "lease_expires_at"


DEFAULT_COLUMNS = LeaseColumns()


def lease_is_free(
    model: Any, now: dt.datetime, columns: LeaseColumns = DEFAULT_COLUMNS
) -> ColumnElement[bool]:
    expires = getattr(model, columns.expires)
    return or_(expires.is_(None), expires < now)


def claim_due(
    session: Session,
    model: Any,
    *,
    owner: str,
    now: dt.datetime,
    limit: int,
    where: ColumnElement[bool] | None = None,
    lease: dt.timedelta = LEASE,
    columns: LeaseColumns = DEFAULT_COLUMNS,
    also_set: Mapping[str, Any] | None = None,
) -> list[int]:
    """Lease up to ``limit`` rows of ``model`` due at ``now`` (oldest first) to ``owner``; returns
    their ids in that order. ``also_set`` is written with the lease (its expressions see the row
    as it was before the claim).

    Runs in the caller's transaction; the caller commits at once so the lease is visible.
    """
    due_at = getattr(model, columns.due)
    condition = and_(due_at.is_not(None), due_at <= now, lease_is_free(model, now, columns))
    if where is not None:
        condition = and_(condition, where)
    expires = now + lease
    due = select(model.id).where(condition).order_by(due_at, model.id).limit(limit)
    claim = (
        update(model)
        .values({columns.owner: owner, columns.expires: expires, **(also_set or {})})
        .execution_options(synchronize_session=False)
    )
    if is_sqlite(str(session.get_bind().engine.url)):
        session.execute(claim.where(model.id.in_(due.scalar_subquery()), condition))
    else:
        ids = list(session.scalars(due.with_for_update(skip_locked=True)))
        if not ids:
            return []
        session.execute(claim.where(model.id.in_(ids)))
    return list(
        session.scalars(
            select(model.id)
            .where(
                getattr(model, columns.owner) == owner, getattr(model, columns.expires) == expires
            )
            .order_by(due_at, model.id)
        )
    )


def update_held(
    session: Session,
    model: Any,
    row_ids: Sequence[int],
    owner: str,
    values: Mapping[str, Any],
    columns: LeaseColumns = DEFAULT_COLUMNS,
) -> int:
    """Write ``values`` to those of ``row_ids`` that ``owner`` still holds; returns how many.

    The owner column is the lock; expiry only allows another worker to take the row over
    (``claim_due`` then writes its own name), after which this writes nothing.
    """
    if not row_ids:
        return 0
    # A Core UPDATE on the mapped table, not an ORM one: it is called once or twice per message
    # sent, and the ORM's bulk-update path added a tenth of a millisecond each time for nothing
    # (no object in the session is synchronised either way).
    table = inspect(model).columns
    result: Any = session.execute(
        update(model.__table__)
        .where(table["id"].in_(row_ids), table[columns.owner] == owner)
        .values({table[name]: value for name, value in values.items()})
    )
    return int(result.rowcount)


def still_mine(
    session: Session,
    model: Any,
    row_id: int,
    owner: str,
    now: dt.datetime,
    lease: dt.timedelta = LEASE,
    columns: LeaseColumns = DEFAULT_COLUMNS,
) -> bool:
    """Re-assert and extend the lease in the caller's transaction (a write, so SQLite locks at
    once): a worker busy on a long batch keeps the rows it is working on. False when another
    worker took the row over: do not send."""
    # ``update_held`` for one row, its statement built once: called before every message sent,
    # building the UPDATE and its expanding IN (rendered again at each execution) cost as much
    # as executing it.
    result: Any = session.execute(
        _extend_lease(model, columns),
        {"held_id": row_id, "held_by": owner, "held_until": now + lease},
    )
    return bool(result.rowcount)


@functools.cache
def _extend_lease(model: Any, columns: LeaseColumns) -> Update:
    table = inspect(model).columns
    return (
        update(model.__table__)
        .where(table["id"] == bindparam("held_id"), table[columns.owner] == bindparam("held_by"))
        .values({table[columns.expires]: bindparam("held_until")})
    )


def still_mine_among(
    session: Session,
    model: Any,
    row_ids: Sequence[int],
    owner: str,
    now: dt.datetime,
    lease: dt.timedelta = LEASE,
    columns: LeaseColumns = DEFAULT_COLUMNS,
) -> set[int]:
    """``still_mine`` for many rows in one statement: the ids of ``row_ids`` that ``owner``
    still holds, their lease extended in the caller's transaction."""
    if not update_held(session, model, row_ids, owner, {columns.expires: now + lease}, columns):
        return set()
    table = inspect(model).columns
    return set(
        session.scalars(
            select(table["id"]).where(table["id"].in_(row_ids), table[columns.owner] == owner)
        )
    )


def release(
    session: Session,
    model: Any,
    row_ids: Sequence[int],
    owner: str,
    columns: LeaseColumns = DEFAULT_COLUMNS,
) -> None:
    """Give the rows back (their due column already says when they are next due)."""
    update_held(
        session, model, row_ids, owner, {columns.owner: None, columns.expires: None}, columns
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


# --------------------------------------------------------------------------- the worker's lease


def lease_duration() -> dt.timedelta:
    """``ENVOL_INVITATION_LEASE_SECONDS`` if set (an operations knob), else ``LEASE``."""
    raw = os.environ.get("ENVOL_INVITATION_LEASE_SECONDS", "").strip()
    if not raw:
        return LEASE
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"ENVOL_INVITATION_LEASE_SECONDS must be a number of seconds (got {raw!r})."
        ) from None
    if seconds < 1:
        raise ConfigurationError("ENVOL_INVITATION_LEASE_SECONDS must be at least 1.")
    return dt.timedelta(seconds=seconds)


def worker_identity() -> str:
    """A lease owner id unique to this process and call: host, pid and a random suffix."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def client_limits(lease: dt.timedelta) -> dict[str, float]:
    """The adapter's timeout and retry budget, bounded so that one call ends well within the
    lease: a send that began longer than a lease ago is over, so taking it over (``outbox``)
    never races a live worker that is still retrying it."""
    seconds = lease.total_seconds()
    return {"timeout": min(15.0, seconds / 4), "retry_budget_seconds": min(60.0, seconds / 3)}


def smtp_within(config: SmtpConfig | None, lease: dt.timedelta) -> SmtpConfig | None:
    """The SMTP configuration with its timeout bounded likewise (an exchange is a handful of
    commands, each allowed the timeout)."""
    if config is None:
        return None
    return replace(config, timeout=min(config.timeout, lease.total_seconds() / 8))
