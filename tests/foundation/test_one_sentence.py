"""Failures of the environment an admin can fix are one sentence saying what to do, never
"Unexpected error": a database not migrated, unreachable or without its driver, a broker down,
a wrong Mattermost token, a Mattermost server that is down."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import click
import pytest
import requests
import responses
from click.testing import CliRunner

from plugin.app import build_context, set_context
from plugin.cli import root
from plugin.cli.base import EnvolGroup
from plugin.db import make_engine
from plugin.errors import ConfigurationError
from plugin.mattermost import (
    MattermostClient,
    MattermostUnavailable,
    Unauthorized,
    fail_fast_when_unreachable,
)
from plugin.settings import load_deploy_settings


@pytest.fixture(autouse=True)
def english_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    """These sentences are checked as an English operator reads them (``--lang``/ENVOL_LANG)."""
    monkeypatch.setenv("ENVOL_LANG", "en")


def _closed_port() -> int:
    with socket.socket() as probe:  # bound then closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def use_settings() -> Iterator[object]:
    contexts = []

    def install(**settings: str) -> None:
        context = build_context(
            load_deploy_settings(secret_key="test-secret-key-0123456789", **settings)
        )
        contexts.append(context)
        set_context(context)

    yield install
    set_context(None)
    for context in contexts:
        context.dispose()


def _said(result: object) -> str:
    return " ".join(getattr(result, "output", "").split())  # rich wraps long lines


def test_a_database_not_migrated_says_to_upgrade_and_leaves_no_file(
    use_settings: object, tmp_path: Path
) -> None:
    database = tmp_path / "envol.db"
    use_settings(database_url=f"sqlite:///{database}")  # type: ignore[operator]

    result = CliRunner().invoke(root, ["cohorts", "list"])

    assert result.exit_code == 1
    assert "run `envol db upgrade`" in _said(result)
    assert "Unexpected" not in result.output and "no such table" not in result.output
    assert "inattendue" not in result.output
    assert sorted(tmp_path.iterdir()) == []  # not even the empty file the command opened


def test_the_sentence_follows_the_operators_language(use_settings: object, tmp_path: Path) -> None:
    use_settings(database_url=f"sqlite:///{tmp_path / 'envol.db'}")  # type: ignore[operator]

    result = CliRunner().invoke(root, ["--lang", "fr", "cohorts", "list"])

    assert result.exit_code == 1
    assert "Erreur : la base de données n'a pas encore les tables d'Envol" in _said(result)
    assert "lancez `envol db upgrade`" in _said(result) and "Error" not in result.output


def test_db_check_on_a_database_that_does_not_exist_creates_none(
    use_settings: object, tmp_path: Path
) -> None:
    use_settings(database_url=f"sqlite:///{tmp_path / 'envol.db'}")  # type: ignore[operator]

    result = CliRunner().invoke(root, ["db", "check"])

    assert result.exit_code == 1 and "Run `envol db upgrade`" in _said(result)
    assert sorted(tmp_path.iterdir()) == []


def test_a_sqlite_file_in_a_missing_folder(use_settings: object, tmp_path: Path) -> None:
    use_settings(database_url=f"sqlite:///{tmp_path / 'nowhere' / 'envol.db'}")  # type: ignore[operator]

    result = CliRunner().invoke(root, ["db", "upgrade"])

    assert result.exit_code == 1
    assert "the SQLite database file cannot be opened: check that the folder" in _said(result)


def test_a_postgresql_url_without_its_driver_or_an_unknown_dialect() -> None:
    with pytest.raises(ConfigurationError, match=r"postgresql\+nosuch:// is not a database"):
        make_engine("postgresql+nosuch://envol:secret@db/envol")
    if find_spec("psycopg2") is None:  # postgresql:// means psycopg2, which Envol leaves out
        with pytest.raises(ConfigurationError) as refused:
            make_engine("postgresql://envol:secret@db/envol")
        assert "driver for postgresql:// is not installed" in str(refused.value)
        assert "postgresql+psycopg://" in str(refused.value) and "secret" not in str(refused.value)


def test_an_unreachable_database_is_one_sentence_without_the_password(
    use_settings: object,
) -> None:
    use_settings(  # type: ignore[operator]
        database_url=f"postgresql+psycopg://envol:hunter22@127.0.0.1:{_closed_port()}/envol"
    )

    result = CliRunner().invoke(root, ["cohorts", "list"])

    assert result.exit_code == 1
    said = _said(result)
    assert said.startswith("Error: the database does not answer (")
    assert "check ENVOL_DATABASE_URL" in said and "hunter22" not in said
    assert "Unexpected" not in said and "inattendue" not in said


def test_a_broker_that_does_not_answer_is_one_sentence() -> None:
    from kombu.exceptions import OperationalError

    @click.group(cls=EnvolGroup)
    def group() -> None:
        pass

    @group.command("send")
    def send() -> None:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as error:
            raise OperationalError(
                "Error 111 connecting to 127.0.0.1:6379. Connection refused."
            ) from error

    result = CliRunner().invoke(group, ["send"])

    assert result.exit_code == 1
    assert _said(result) == (
        "Error: the task broker does not answer (Error 111 connecting to 127.0.0.1:6379. "
        "Connection refused.): check ENVOL_BROKER_URL and that the broker (Redis, RabbitMQ) "
        "is running, then try again."
    )


def test_a_wrong_token_names_the_setting() -> None:
    with responses.RequestsMock() as mock:
        mock.get(
            "http://mm.test/api/v4/users/me",
            status=401,
            json={"id": "api.context.session_expired.app_error", "message": "Invalid session"},
        )
        with (
            MattermostClient("http://mm.test", "wrong") as client,
            pytest.raises(Unauthorized) as refused,
        ):
            client.get_me()

    said = str(refused.value)
    assert said.startswith("Mattermost refused the token in ENVOL_MATTERMOST_TOKEN (")
    assert said.endswith("set it to a valid personal access token of Envol's bot or admin account.")
    assert "wrong" not in said


def test_a_server_that_is_down_fails_fast_for_a_person_and_is_retried_for_workers() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    slept: list[float] = []

    previous = fail_fast_when_unreachable(True)
    try:
        with (
            MattermostClient(url, "t", sleep=slept.append) as client,
            pytest.raises(
                MattermostUnavailable, match=r"does not answer at .* \(connection refused\)"
            ),
        ):
            client.get_me()
    finally:
        fail_fast_when_unreachable(previous)
    assert slept == []

    budget = 3.0
    with (
        MattermostClient(url, "t", sleep=slept.append, retry_budget_seconds=budget) as client,
        pytest.raises(MattermostUnavailable, match="still failing after"),
    ):
        client.get_me()  # a worker: retried within its budget (slept, not waited)
    assert slept


def test_a_server_that_answered_then_refuses_is_restarting_and_is_retried() -> None:
    slept: list[float] = []
    previous = fail_fast_when_unreachable(True)
    try:
        with (
            responses.RequestsMock() as mock,
            MattermostClient("http://mm.test", "t", sleep=slept.append) as client,
        ):
            mock.get("http://mm.test/api/v4/system/ping", json={"status": "OK"})
            mock.get(
                "http://mm.test/api/v4/system/ping",
                body=requests.ConnectionError("NewConnectionError: Connection refused"),
            )
            mock.get("http://mm.test/api/v4/system/ping", json={"status": "OK"})
            assert client.ping()["status"] == "OK"
            assert client.ping()["status"] == "OK"  # refused once, retried: not a sentence
    finally:
        fail_fast_when_unreachable(previous)
    assert len(slept) == 1


def test_seed_plan_on_a_server_that_is_down_says_so_at_once(
    use_settings: object, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    use_settings(  # type: ignore[operator]
        database_url=f"sqlite:///{tmp_path / 'envol.db'}",
        mattermost_url=url,
        mattermost_token="token",
    )
    started = time.monotonic()

    with caplog.at_level(logging.WARNING):
        result = CliRunner().invoke(root, ["seed", "plan"])

    said = _said(result)
    assert result.exit_code == 1, result.output
    assert time.monotonic() - started < 10  # was 56 s of retries
    assert said.startswith(f"comparing the content with Mattermost at {url}…")
    assert f"Error: Mattermost does not answer at {url} (connection refused)" in said
    assert "retry" not in caplog.text
    assert not fail_fast_when_unreachable(False)  # the CLI restored the process default


def test_db_upgrade_and_check_speak_the_operators_language(
    use_settings: object, tmp_path: Path
) -> None:
    use_settings(database_url=f"sqlite:///{tmp_path / 'envol.db'}")  # type: ignore[operator]

    upgraded = CliRunner().invoke(root, ["--lang", "fr", "db", "upgrade"])
    checked_fr = CliRunner().invoke(root, ["--lang", "fr", "db", "check"])
    checked_en = CliRunner().invoke(root, ["--lang", "en", "db", "check"])

    assert upgraded.exit_code == checked_fr.exit_code == checked_en.exit_code == 0
    assert _said(upgraded).startswith("base de données à la révision ")
    assert _said(checked_fr) == "la base de données correspond aux modèles"
    assert _said(checked_en) == "database matches the models"
