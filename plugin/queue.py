"""Tasks sent once the session commits, never before and never on a rollback — and never lost
when the broker is down at that moment. Without Celery.

A service calls ``enqueue_after_commit(session, "support.post_ticket", ticket.id)``:

1. A ``queued_task`` row (the task's name and its arguments: JSON scalars, ids) is added in the
   caller's transaction, so it exists exactly when the change it is about does; a rollback
   drops both.
2. Once the session commits, the task goes to the sender installed by the Celery app module
   (``plugin/tasks.py``); the row is deleted when the broker took it. A broker that refuses
   (down, unreachable) costs one warning line, never the request: the row stays.
3. ``send_overdue`` (the beat's ``envol.send_queued``, every minute) sends every row older than
   ``SWEEP_GRACE`` and deletes it, with no transaction open while it talks to the broker. The
   grace leaves step 2 the time to delete its own rows.

Guarantee: **at least once**. A task goes twice only if a step-2 send and its delete straddle a
sweep (a transaction that committed more than ``SWEEP_GRACE`` after it enqueued, or a database
lost between the send and the delete), or two sweeps run at once; every task is safe to run
twice (``plugin/tasks.py``), so that costs a no-op run, never a second post. A capability never
imports Celery, and a task never runs before the rows it reads exist (the classic bug of
sending it inside the transaction).

A process that enqueues without a sender installed fails at once, inside the transaction, rather
than committing rows whose task nobody in this process would send.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, delete, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from plugin import clock
from plugin.db import Base, transaction

log = logging.getLogger(__name__)

TaskSender = Callable[[str, tuple[Any, ...], dict[str, Any]], None]

_PENDING = "envol.pending_tasks"
_sender: TaskSender | None = None

# Longer than an after-commit send and its delete take, by far: the sweep leaves those alone.
SWEEP_GRACE = dt.timedelta(minutes=2)
SWEEP_BATCH = 500


class QueuedTask(Base):
    """A task committed and not yet handed to the broker: the database says what is due."""

    __tablename__ = "queued_task"

    # Chosen at enqueue time (no flush needed): the after-commit hook deletes by it.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    task_name: Mapped[str] = mapped_column(String(120))
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now, index=True)
    # Sweeps that found the broker down; the error's type only (never a URL with a password).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")

    def __repr__(self) -> str:
        return f"<QueuedTask {self.task_name} {self.args}>"


def install_sender(sender: TaskSender) -> None:
    """Where committed tasks go (``plugin/tasks.py`` installs Celery's ``send_task``)."""
    global _sender
    _sender = sender


def enqueue_after_commit(session: Session, task_name: str, *args: Any, **kwargs: Any) -> None:
    """Send ``task_name`` once ``session`` commits, never before and never on rollback; if the
    broker refuses it then, ``send_overdue`` sends it later."""
    if _sender is None:
        raise RuntimeError(
            f"cannot enqueue {task_name!r}: no task sender in this process; import plugin.tasks "
            "(the Celery app installs it) in the process's entry point"
        )
    if not session.in_transaction():
        # Begin now, so that a rollback before any SQL still ends *this* transaction and drops
        # the task, instead of a later commit sending it.
        session.begin()
    row = QueuedTask(
        id=uuid.uuid4().hex,
        task_name=task_name,
        args=list(args),
        kwargs=dict(kwargs),
        created_at=clock.now(),
    )
    session.add(row)
    session.info.setdefault(_PENDING, []).append((row.id, task_name, args, kwargs))


def _send(task_name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """Hand one task to the broker; the error's type when it refused."""
    assert _sender is not None
    try:
        _sender(task_name, args, kwargs)
    except Exception as error:  # a broker down raises whatever its transport raises
        return type(error).__name__
    return None


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    if not pending or _sender is None:
        return
    sent: list[str] = []
    for row_id, task_name, args, kwargs in pending:
        error = _send(task_name, args, kwargs)
        if error is None:
            sent.append(row_id)
        else:
            log.warning(
                "task %s not queued (%s): it is stored, and sent by the next sweep once the "
                "broker answers",
                task_name,
                error,
            )
    if sent:
        _forget_sent(session, sent)


def _forget_sent(session: Session, row_ids: list[str]) -> None:
    # The session's transaction is over: a short one of our own, on the same bind (a savepoint
    # when the bind is a connection already in a transaction, as in the tests).
    try:
        own = Session(bind=session.get_bind(), join_transaction_mode="create_savepoint")
        with own, own.begin():
            own.execute(delete(QueuedTask).where(QueuedTask.id.in_(row_ids)))
    except Exception as error:  # the tasks went; the sweep sends them again, a harmless no-op
        log.warning("sent tasks not cleared (%s): the sweep sends them again", type(error).__name__)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, _previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)


def send_overdue(
    sessions: sessionmaker[Session],
    *,
    now: dt.datetime | None = None,
    grace: dt.timedelta = SWEEP_GRACE,
    limit: int = SWEEP_BATCH,
) -> int:
    """Send the tasks committed more than ``grace`` ago and still not queued; how many went.

    The broker is called with no transaction open (a broker that is down may take seconds to
    refuse): the due rows are read, sent, then deleted. Stops at the first refusal (the broker
    is still down: the next sweep tries again). Two sweeps at once (a duplicate beat) may both
    send a row: a no-op second run of an idempotent task.
    """
    if _sender is None:
        raise RuntimeError("cannot send queued tasks: no task sender in this process")
    cutoff = (now or clock.now()) - grace
    with sessions() as session:
        due = session.execute(
            select(QueuedTask.id, QueuedTask.task_name, QueuedTask.args, QueuedTask.kwargs)
            .where(QueuedTask.created_at <= cutoff)
            .order_by(QueuedTask.created_at, QueuedTask.id)
            .limit(limit)
        ).all()
    sent: list[str] = []
    refused: tuple[str, str] | None = None
    for row_id, task_name, args, kwargs in due:
        error = _send(task_name, tuple(args or ()), dict(kwargs or {}))
        if error is not None:
            refused = (row_id, error)
            log.warning("queued tasks: the broker still refuses (%s); next sweep", error)
            break
        sent.append(row_id)
    if sent or refused:
        with transaction(sessions) as session:
            if sent:
                session.execute(delete(QueuedTask).where(QueuedTask.id.in_(sent)))
            if refused:
                session.execute(
                    update(QueuedTask)
                    .where(QueuedTask.id == refused[0])
                    .values(attempts=QueuedTask.attempts + 1, last_error=refused[1])
                )
    if sent:
        log.info("queued tasks: %d sent after the broker came back", len(sent))
    return len(sent)
