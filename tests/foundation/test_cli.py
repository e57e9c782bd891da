from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from plugin import __version__
from plugin.cli import root
from tests.helpers.smtp import free_port


def test_help_lists_the_command_groups() -> None:
    result = CliRunner().invoke(root, ["--help"])
    assert result.exit_code == 0
    for group in ("db", "plugin", "serve", "worker", "demo", "tasks"):
        assert group in result.output


def test_every_command_has_help() -> None:
    def walk(command, path):  # type: ignore[no-untyped-def]
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    for path in walk(root, []):
        result = CliRunner().invoke(root, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_version() -> None:
    result = CliRunner().invoke(root, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_usage_errors_exit_2() -> None:
    assert CliRunner().invoke(root, ["no-such-command"]).exit_code == 2
    assert CliRunner().invoke(root, ["db", "downgrade"]).exit_code == 2


def test_failures_exit_1_with_one_sentence_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "plugin.json"
    bad.write_text('{"id": "x"}')
    result = CliRunner(env={"ENVOL_LANG": "en"}).invoke(
        root, ["plugin", "validate", "--manifest", str(bad)]
    )
    assert result.exit_code == 1
    assert "not a valid Mattermost manifest" in result.output
    assert "Traceback" not in result.output


def test_bad_settings_stop_the_start_listing_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from plugin.app import set_context

    set_context(None)
    monkeypatch.setenv("ENVOL_DATABASE_URL", "oracle://x")
    monkeypatch.setenv("ENVOL_PUBLIC_URL", "nowhere")
    result = CliRunner().invoke(root, ["db", "check"])
    assert result.exit_code == 1
    assert "ENVOL_DATABASE_URL" in result.output and "ENVOL_PUBLIC_URL" in result.output
    set_context(None)


@pytest.mark.slow
def test_envol_serve_answers_healthz(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ENVOL_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}",
        "ENVOL_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'b.db'}",
        "ENVOL_SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnop",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "plugin.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["checks"] == {"database": "ok", "broker": "ok"}
        assert "gunicorn" in response.headers.get("Server", "")
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_plugin_validate_speaks_the_operators_language() -> None:
    french = CliRunner().invoke(root, ["--lang", "fr", "plugin", "validate"])
    english = CliRunner().invoke(root, ["--lang", "en", "plugin", "validate"])

    assert french.exit_code == english.exit_code == 0
    assert "plugin.json est valide : fr.envol.launch " in " ".join(french.output.split())
    assert " réglage(s)" in french.output and "settings" not in french.output
    assert "plugin.json is valid: fr.envol.launch " in " ".join(english.output.split())


@pytest.mark.parametrize(("language", "said"), [("fr", "interrompu"), ("en", "interrupted")])
def test_ctrl_c_is_said_in_the_operators_language(
    language: str, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from plugin import cli

    def interrupted(**_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setenv("ENVOL_LANG", language)
    monkeypatch.setattr(cli.root, "main", interrupted)
    with pytest.raises(SystemExit) as stopped:
        cli.main()

    assert stopped.value.code == 130
    assert capsys.readouterr().out.strip() == said
