"""A production install (``pip install envol``, no ``demo`` extra) runs without the simulation:
the CLI, the webhooks app and the Celery worker's app never import it, and the commands that
need it say what to install."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli import base, root

SIMULATION = (
    "aiosmtpd", "openapi_core", "websocket", "simple_websocket", "plugin.demo", "plugin.sandbox"
)  # fmt: skip

# What each production process imports at start: `envol` (every command group registered), the
# app `envol serve` builds, and the worker's Celery app with every task module it includes.
PRODUCTION_PROCESSES = """
import importlib, json, sys
import plugin.cli
plugin.cli.root.load_all()
from plugin.settings import load_deploy_settings
from webhooks import create_app
create_app(load_deploy_settings(
    database_url="sqlite:///{tmp}/envol.db", broker_url="sqla+sqlite:///{tmp}/broker.db",
    secret_key="test-secret-key-0123456789-abcdefghijklmnop"))
from plugin.tasks import TASK_MODULES, configure_celery
app = configure_celery("sqla+sqlite:///{tmp}/broker.db")
app.loader.import_default_modules()
for name in TASK_MODULES:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def test_the_production_processes_do_not_import_the_simulation(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROCESSES.format(tmp=tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert "plugin.tasks" in loaded and "webhooks.commands" in loaded  # the test loads them all
    # By whole dotted names: mattermostdriver's ``websockets`` is not ``websocket``.
    simulation = [m for m in loaded if any(m == s or m.startswith(f"{s}.") for s in SIMULATION)]
    assert simulation == []


@pytest.mark.parametrize("command", ["demo", "sandbox"])
def test_the_simulation_without_the_demo_extra_says_what_to_install(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "find_spec", lambda name: None)

    result = CliRunner().invoke(root, ["--lang", "en", command])
    french = CliRunner().invoke(root, ["--lang", "fr", command])

    assert result.exit_code == french.exit_code == 1
    assert (
        f"`envol {command}` needs Envol's demo extra, not installed here (aiosmtpd, openapi_core, "
        "websocket, simple_websocket missing): run `pip install 'envol[demo]'`."
        in " ".join(result.output.split())
    )
    assert (
        f"Erreur : `envol {command}` a besoin de l'extra demo d'Envol, absent ici (aiosmtpd, "
        "openapi_core, websocket, simple_websocket manquant(s)) : lancez `pip install "
        "'envol[demo]'`." in " ".join(french.output.split())
    )
