"""Hostile and careless requests to the webhooks: tokens bound to their command, bodies limited
before they are parsed, no 5xx when a record or the database is missing."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from plugin.app import EnvolContext, build_context
from plugin.security.service import Signer
from plugin.slash_registration.models import SlashCommandRegistration
from webhooks import create_app
from webhooks.commands import clear_token_cache
from webhooks.integration import UserDirectory

USER = "u" * 26
TEAM = "t" * 26
CHANNEL = "c" * 26


@pytest.fixture
def client(envol_context: EnvolContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    # No Mattermost here: whoever types is an English-speaking admin (so, an animator too).
    user = {"locale": "en", "username": "admin", "roles": "system_user system_admin"}
    monkeypatch.setattr(UserDirectory, "get", lambda self, user_id, fresh=False: user)
    with envol_context.sessions.begin() as session:
        for number, trigger in enumerate(("envol", "aide")):
            session.add(
                SlashCommandRegistration(
                    team_id=TEAM,
                    trigger=trigger,
                    command_id=f"{number}" * 26,
                    token=f"token-of-{trigger}",
                    url="http://127.0.0.1:8080/commands",
                )
            )
    clear_token_cache()
    yield create_app(context=envol_context).test_client()
    clear_token_cache()


def _command(client: FlaskClient, command: str, token: str) -> tuple[int, dict]:
    form = {
        "token": token,
        "team_id": TEAM,
        "channel_id": CHANNEL,
        "user_id": USER,
        "command": command,
        "text": "this-is-no-sub-command",
    }
    response = client.post("/commands", data=form)
    return response.status_code, response.get_json(silent=True) or {}


def test_a_slash_command_token_opens_only_its_own_command(client: FlaskClient) -> None:
    assert _command(client, "/aide", "token-of-aide")[0] == 200
    assert _command(client, "/envol", "token-of-envol")[0] == 200
    assert _command(client, "/envol", "token-of-aide")[0] == 401
    assert _command(client, "/aide", "token-of-envol")[0] == 401
    assert _command(client, "/other", "token-of-envol")[0] == 401


# --------------------------------------------------------------------------- no 5xx

SECRET = "test-secret-key-0123456789-abcdefghijklmnop"  # tests/conftest.py's


def _nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize("path", ["/actions/ticket", "/dialogs/ticket", "/commands", "/join"])
def test_deeply_nested_json_is_refused_before_it_is_parsed(client: FlaskClient, path: str) -> None:
    response = client.post(path, data=_nested(100_000), content_type="application/json")
    assert 400 <= response.status_code < 500
    wrapped = b'{"user_id": "' + b"u" * 26 + b'", "context": ' + _nested(1000) + b"}"
    response = client.post("/actions/poll", data=wrapped, content_type="text/plain")
    assert response.status_code == 400


def test_a_body_too_big_is_refused(client: FlaskClient) -> None:
    response = client.post("/actions/ticket", data=b" " * (300 * 1024))
    assert response.status_code == 413


def test_a_button_or_form_for_a_ticket_that_does_not_exist_is_answered_in_words(
    client: FlaskClient,
) -> None:
    signer = Signer(SECRET)
    button = {
        "user_id": USER,
        "channel_id": CHANNEL,
        "post_id": "p" * 26,
        "context": {"signed": signer.sign("ticket", "*", {"t": 999_999, "a": "take"})},
    }
    response = client.post("/actions/ticket", json=button)
    assert response.status_code == 200
    assert "no longer exists" in response.get_json()["ephemeral_text"]

    dialog = {
        "type": "dialog_submission",
        "callback_id": "ticket_answer",
        "state": signer.sign("dialog.ticket_answer", USER, {"t": 999_999}, single_use=True),
        "user_id": USER,
        "submission": {"answer": "Voici la réponse à votre question."},
    }
    response = client.post("/dialogs/ticket", json=dialog)
    assert response.status_code == 200
    assert "no longer exists" in response.get_json()["error"]


def test_with_the_database_down_a_command_answers_in_words_and_logs_one_line(
    envol_context: EnvolContext, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(UserDirectory, "get", lambda self, user_id, fresh=False: {"locale": "fr"})
    down = build_context(
        envol_context.settings.model_copy(
            update={"database_url": "postgresql+psycopg://envol@127.0.0.1:9/envol"}
        )
    )
    client = create_app(context=down).test_client()
    clear_token_cache()
    caplog.set_level(logging.INFO)
    status, body = _command(client, "/envol", "token-of-envol")
    assert status == 200
    assert body["response_type"] == "ephemeral"
    assert "indisponible" in body["text"]
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert "database" in lines[0].getMessage()

    caplog.clear()
    client.set_cookie("envol_join", "binding")
    token = Signer(SECRET).sign("join-form", "binding", single_use=True)
    response = client.post("/join", data={"email": "a@b.fr", "token": token})
    assert response.status_code == 503
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
    down.dispose()


def test_unknown_paths_and_methods_keep_their_status(client: FlaskClient) -> None:
    assert client.get("/nowhere").status_code == 404
    assert client.get("/actions/ticket").status_code == 405
    assert client.get("/healthz").status_code == 200


def test_a_bug_in_a_command_is_answered_in_words_and_logged_once(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("webhooks.commands.dispatch", broken)
    caplog.set_level(logging.INFO)
    status, body = _command(client, "/envol", "token-of-envol")
    assert status == 200
    assert body["text"].startswith("Envol could not handle your request right now")
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
