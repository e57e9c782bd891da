"""The Celery plumbing: a real worker on a real broker (after-commit sending: test_queue.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REDIS_URL, require_server


def test_every_beat_entry_names_a_task_of_the_task_modules() -> None:
    code = (
        "import importlib\n"
        "from plugin.tasks import BEAT_SCHEDULE, TASK_MODULES, celery_app\n"
        "for name in TASK_MODULES: importlib.import_module(name)\n"
        "names = [entry['task'] for entry in BEAT_SCHEDULE.values()]\n"
        "print([name for name in names if name not in celery_app.tasks])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


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
        "ENVOL_SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnop",
        "ENVOL_LANG": "en",
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
