"""What ``envol worker`` sets up and a bare ``celery -A plugin.tasks worker`` would skip
(refused, in one sentence, before any broker is touched), and a broker URL whose library is
not installed (one sentence saying what to install, never "Unexpected error")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from plugin import tasks
from plugin.cli.base import missing_broker_library
from plugin.errors import ConfigurationError
from plugin.settings import load_deploy_settings

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` from ``tmp_path``; ``path_first`` goes before the repository on the path."""
    path_first = extra.pop("path_first", "")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (path_first, str(ROOT)) if p),
        "ENVOL_DATABASE_URL": f"sqlite:///{tmp_path / 'envol.db'}",
        "ENVOL_LANG": "en",
        **extra,
    }
    if "ENVOL_BROKER_URL" not in extra:
        env.pop("ENVOL_BROKER_URL", None)
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("service", ["worker", "beat"])
def test_a_bare_celery_worker_or_beat_is_refused_before_touching_a_broker(
    tmp_path: Path, service: str
) -> None:
    started = _run(tmp_path, "-m", "celery", "-A", "plugin.tasks", service, "--pool=solo"
                   if service == "worker" else "--loglevel=WARNING")  # fmt: skip

    said = " ".join((started.stdout + started.stderr).split())
    assert started.returncode == 1, said
    assert tasks.BARE_CELERY_REFUSED in said
    # Refused before connecting: Celery's default broker (amqp://localhost) was never tried.
    assert "Cannot connect" not in said and "Connection refused" not in said


def test_a_celery_app_configured_as_envol_worker_does_is_let_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(tasks.celery_app.conf, "envol_configured", False)
    with pytest.raises(SystemExit) as refused:
        tasks._refuse_unconfigured_start()
    assert str(refused.value) == tasks.BARE_CELERY_REFUSED

    tasks.configure_celery(tasks.celery_app.conf.broker_url or "memory://")  # same broker

    tasks._refuse_unconfigured_start()  # no SystemExit: `envol worker`'s own set-up ran
    assert tasks.celery_app.conf.task_acks_late is True
    assert set(tasks.TASK_MODULES) <= set(tasks.celery_app.conf.include)


def test_a_broker_whose_library_is_missing_is_named_with_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert missing_broker_library("redis://127.0.0.1:6379/0") is None  # installed here
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis -> ImportError
    monkeypatch.setitem(sys.modules, "amqp", None)

    redis = missing_broker_library("redis://127.0.0.1:6379/0")
    amqp = missing_broker_library("amqp://guest@rabbit//")

    assert redis is not None and amqp is not None
    assert redis.localized("en") == (
        "ENVOL_BROKER_URL is a redis:// broker, but the redis library it needs is not "
        "installed: run `pip install 'envol[redis]'`, or set ENVOL_BROKER_URL to a broker "
        "that is."
    )
    assert "la bibliothèque redis" in redis.localized("fr")
    assert "pip install 'envol[redis]'" in redis.localized("fr")
    assert "the amqp library" in amqp.localized("en")
    assert "`pip install amqp`" in amqp.localized("en")


def test_the_cli_says_the_broker_library_is_missing_instead_of_unexpected_error(
    tmp_path: Path,
) -> None:
    # A redis module that cannot be imported, first on the path: as if envol[redis] were left out.
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "redis.py").write_text("raise ImportError('No module named redis')\n")
    pinged = _run(tmp_path, "-m", "plugin.cli", "tasks", "ping", path_first=str(shim),
                  ENVOL_BROKER_URL="redis://127.0.0.1:6390/0")  # fmt: skip

    said = " ".join(pinged.stderr.split())
    assert pinged.returncode == 1, said
    assert "Unexpected error" not in said and "Erreur inattendue" not in said
    assert "ENVOL_BROKER_URL is a redis:// broker, but the redis library it needs is not" in said
    assert "pip install 'envol[redis]'" in said


def test_a_broker_envol_does_not_run_on_is_refused_in_one_sentence() -> None:
    with pytest.raises(ConfigurationError) as refused:
        load_deploy_settings(broker_url="sqs://queue.example")

    assert "sqs:// is not a broker Envol runs on" in str(refused.value)
    assert "redis://host:port/db (with `pip install 'envol[redis]'`)" in str(refused.value)
