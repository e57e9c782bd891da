"""``plugin.queue``: tasks leave after the commit, never on a rollback, never without a sender."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy.orm import Session

from plugin import queue, tasks


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[Any]]]:
    calls: list[tuple[str, list[Any]]] = []
    monkeypatch.setattr(
        tasks.celery_app, "send_task", lambda name, args, kwargs: calls.append((name, args))
    )
    return calls


def test_task_is_sent_only_after_the_commit(db_session: Session, sent: list) -> None:  # type: ignore[type-arg]
    queue.enqueue_after_commit(db_session, "envol.heartbeat", "after-commit")
    db_session.flush()
    assert sent == []
    db_session.commit()
    assert sent == [("envol.heartbeat", ["after-commit"])]
    db_session.commit()
    assert len(sent) == 1  # sent once, not at every later commit


def test_task_is_dropped_on_rollback(db_session: Session, sent: list) -> None:  # type: ignore[type-arg]
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
