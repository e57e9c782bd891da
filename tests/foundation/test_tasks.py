"""The Celery plumbing: after-commit enqueue, and a real worker on a real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from plugin import tasks
from tests.conftest import REDIS_URL, require_server


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[Any]]]:
    calls: list[tuple[str, list[Any]]] = []
    monkeypatch.setattr(
        tasks.celery_app, "send_task", lambda name, args, kwargs: calls.append((name, args))
    )
    return calls


def test_task_is_sent_only_after_the_commit(db_session: Session, sent: list) -> None:  # type: ignore[type-arg]
    tasks.enqueue_after_commit(db_session, "envol.heartbeat", "after-commit")
    db_session.flush()
    assert sent == []
    db_session.commit()
    assert sent == [("envol.heartbeat", ["after-commit"])]
    db_session.commit()
    assert len(sent) == 1  # sent once, not at every later commit


def test_task_is_dropped_on_rollback(db_session: Session, sent: list) -> None:  # type: ignore[type-arg]
    tasks.enqueue_after_commit(db_session, "envol.heartbeat", "rolled-back")
    db_session.rollback()
    db_session.commit()
    assert sent == []


def _envol(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plugin.cli", *args],
        env=env,
        text=True,
        capture_output=True,
        **kwargs,
    )


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["sqlite", "redis"])
def test_a_task_enqueued_by_the_cli_is_run_by_envol_worker(broker: str, tmp_path: Path) -> None:
    if broker == "redis":
        require_server("Redis", "127.0.0.1", 6379)
        broker_url = REDIS_URL
    else:
        broker_url = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    env = {
        **os.environ,
        "ENVOL_DATABASE_URL": f"sqlite:///{tmp_path / 'envol.db'}",
        "ENVOL_BROKER_URL": broker_url,
    }
    assert _envol(["db", "upgrade"], env).returncode == 0
    pool = ["--pool", "prefork", "--concurrency", "1"] if broker == "redis" else ["--pool", "solo"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "plugin.cli", "worker", *pool],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        result = _envol(["tasks", "ping", "--wait", "60"], env, timeout=90)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "a worker ran it" in result.stdout
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
