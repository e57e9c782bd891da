"""Tasks sent once the session commits, never before and never on a rollback — without Celery.

A service calls ``enqueue_after_commit(session, "support.post_ticket", ticket.id)``: the task's
name and its arguments (JSON scalars: ids) wait in ``session.info`` until the session commits,
then go to the sender installed by the Celery app module (``plugin/tasks.py``); a rollback drops
them. So a capability never imports Celery, and a task never runs before the rows it reads
exist (the classic bug of sending it inside the transaction).

A process that enqueues without a sender installed fails at once, inside the transaction, rather
than committing rows whose task is silently lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

TaskSender = Callable[[str, tuple[Any, ...], dict[str, Any]], None]

_PENDING = "envol.pending_tasks"
_sender: TaskSender | None = None


def install_sender(sender: TaskSender) -> None:
    """Where committed tasks go (``plugin/tasks.py`` installs Celery's ``send_task``)."""
    global _sender
    _sender = sender


def enqueue_after_commit(session: Session, task_name: str, *args: Any, **kwargs: Any) -> None:
    """Send ``task_name`` once ``session`` commits, never before and never on rollback."""
    if _sender is None:
        raise RuntimeError(
            f"cannot enqueue {task_name!r}: no task sender in this process; import plugin.tasks "
            "(the Celery app installs it) in the process's entry point"
        )
    if not session.in_transaction():
        # Begin now, so that a rollback before any SQL still ends *this* transaction and drops
        # the task, instead of a later commit sending it.
        session.begin()
    session.info.setdefault(_PENDING, []).append((task_name, args, kwargs))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    if pending and _sender is not None:
        for task_name, args, kwargs in pending:
            _sender(task_name, args, kwargs)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, _previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
