"""Hostile and careless requests to the webhooks: tokens bound to their command, bodies limited
before they are parsed, no 5xx when a record or the database is missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from plugin.app import EnvolContext
from plugin.slash_registration.models import SlashCommandRegistration
from webhooks import create_app
from webhooks.commands import clear_token_cache
from webhooks.integration import UserDirectory

USER = "u" * 26
TEAM = "t" * 26
CHANNEL = "c" * 26


@pytest.fixture
def client(envol_context: EnvolContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    # No Mattermost here: whoever types is an English-speaking member, not an admin.
    monkeypatch.setattr(UserDirectory, "get", lambda self, user_id, fresh=False: {"locale": "en"})
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


def _command(client: FlaskClient, command: str, token: str) -> tuple[int, dict]:  # type: ignore[type-arg]
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
