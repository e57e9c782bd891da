"""``plugin.queue``: tasks leave after the commit, never on a rollback, never without a sender."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock, queue, tasks
from plugin.app import EnvolContext
from plugin.db import transaction


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[Any]]]:
    calls: list[tuple[str, list[Any]]] = []
    monkeypatch.setattr(
        tasks.celery_app, "send_task", lambda name, args, kwargs: calls.append((name, args))
    )
    return calls


def test_task_is_sent_only_after_the_commit(
    db_session: Session, sent: list[tuple[str, list[Any]]]
) -> None:
    queue.enqueue_after_commit(db_session, "envol.heartbeat", "after-commit")
    db_session.flush()
    assert sent == []
    db_session.commit()
    assert sent == [("envol.heartbeat", ["after-commit"])]
    db_session.commit()
    assert len(sent) == 1  # sent once, not at every later commit


def test_task_is_dropped_on_rollback(
    db_session: Session, sent: list[tuple[str, list[Any]]]
) -> None:
    queue.enqueue_after_commit(db_session, "envol.heartbeat", "rolled-back")
    db_session.rollback()
    db_session.commit()
    assert sent == []


def test_enqueueing_without_a_sender_fails_inside_the_transaction(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "_sender", None)
    with pytest.raises(RuntimeError, match=r"no task sender in this process; import plugin\.tasks"):
        queue.enqueue_after_commit(db_session, "envol.heartbeat", "lost")


def test_the_queue_and_the_services_that_enqueue_do_not_import_celery() -> None:
    code = (
        "import sys\n"
        "import plugin.queue, plugin.support.service, plugin.cohorts.waitlist\n"
        "print(sorted(m for m in ('celery', 'plugin.tasks') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------- broker down


def _queued(session: Session) -> list[tuple[str, list[Any]]]:
    return [(row.task_name, row.args) for row in session.scalars(select(queue.QueuedTask))]


def test_a_task_the_broker_took_leaves_nothing_queued(
    db_session: Session, sent: list[tuple[str, list[Any]]]
) -> None:
    queue.enqueue_after_commit(db_session, "envol.heartbeat", "taken")
    assert _queued(db_session) == [("envol.heartbeat", ["taken"])]  # due, in the transaction
    db_session.commit()
    assert sent == [("envol.heartbeat", ["taken"])]
    assert _queued(db_session) == []


def test_broker_down_at_the_commit_the_sweep_sends_it_exactly_once(
    envol_context: EnvolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broker_down(name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.celery_app, "send_task", broker_down)
    with transaction(envol_context.sessions) as session:
        queue.enqueue_after_commit(session, "envol.heartbeat", "outage")
    # The commit went through (the request is stored): the database says what is due.
    with envol_context.sessions() as session:
        assert _queued(session) == [("envol.heartbeat", ["outage"])]
    later = clock.now() + queue.SWEEP_GRACE
    assert queue.send_overdue(envol_context.sessions, now=later) == 0  # still down: kept
    with envol_context.sessions() as session:
        assert session.scalars(select(queue.QueuedTask.attempts)).one() == 1

    calls: list[tuple[str, list[Any]]] = []
    monkeypatch.setattr(
        tasks.celery_app, "send_task", lambda name, args, kwargs: calls.append((name, args))
    )
    # Too recent for the sweep: an after-commit send may still be on its way.
    assert queue.send_overdue(envol_context.sessions) == 0
    assert queue.send_overdue(envol_context.sessions, now=later) == 1
    assert queue.send_overdue(envol_context.sessions, now=later) == 0
    assert calls == [("envol.heartbeat", ["outage"])]
    with envol_context.sessions() as session:
        assert _queued(session) == []


def test_the_sweep_is_on_the_beat() -> None:
    entry = tasks.BEAT_SCHEDULE["envol-send-queued"]
    assert entry["task"] == "envol.send_queued" and entry["schedule"] <= 60
    assert "envol.send_queued" in tasks.celery_app.tasks
