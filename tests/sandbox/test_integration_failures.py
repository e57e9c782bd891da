"""What a person sees when an integration answers badly, and the requests the server sends
(``app/command.go``, ``app/integration_action.go``): the sandbox behaves like the server, so
Envol's tests see what a person sees."""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Any

import pytest

from plugin.demo.person import CallFailed
from plugin.demo.sandbox_people import as_user
from plugin.sandbox import Sandbox
from plugin.sandbox.state import MAX_POST_LENGTH
from tests.helpers.sandbox import IntegrationReceiver, ReceivedCall
from tests.sandbox.conftest import Api

KIND_WORDS = "Envol's kind sentence: click again"


@pytest.fixture
def member(sandbox: Sandbox, team: dict[str, Any]) -> dict[str, Any]:
    user = sandbox.create_user("alice", first_name="Alice")
    sandbox.add_team_member(team["id"], user["id"])
    return user


def _command(admin: Api, team: dict[str, Any], url: str) -> dict[str, Any]:
    response = admin.post(
        "/commands",
        json={"team_id": team["id"], "trigger": "support", "method": "P", "url": url},
    )
    assert response.status_code == 201
    return dict(response.json())


def _button_post(sandbox: Sandbox, admin: Api, team: dict[str, Any], url: str) -> dict[str, Any]:
    town = sandbox.channel_by_name(team["id"], "town-square")
    sandbox.add_channel_member(town["id"], sandbox.admin_user_id)
    props = {
        "attachments": [
            {
                "actions": [
                    {
                        "id": "yes",
                        "name": "Yes",
                        "type": "button",
                        "integration": {"url": url, "context": {"k": "v"}},
                    }
                ]
            }
        ]
    }
    post = admin.post("/posts", json={"channel_id": town["id"], "message": "?", "props": props})
    return dict(post.json())


@pytest.mark.parametrize("status", [400, 401, 403, 409, 500])
def test_a_command_answered_with_an_error_shows_the_servers_message(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
    status: int,
) -> None:
    _command(admin, team, integration_receiver.url + "/commands")
    integration_receiver.reply = lambda call: (
        status,
        {"response_type": "ephemeral", "text": KIND_WORDS},
    )
    town = sandbox.channel_by_name(team["id"], "town-square")
    alice = as_user(sandbox, member["id"])
    with pytest.raises(CallFailed) as failed:
        alice.run_command(town["id"], "/support")
    body = failed.value.response.json()
    assert failed.value.status_code == 500
    assert body["id"] == "api.command.execute_command.failed_resp.app_error"
    # Go's resp.Status is the status line as received: werkzeug writes "403 FORBIDDEN".
    assert body["message"] == (
        f"Command with a trigger of 'support' returned response {status} "
        f"{HTTPStatus(status).phrase.upper()}."
    )
    assert KIND_WORDS not in failed.value.response.text  # the body is dropped…
    assert body["detailed_error"] == ""  # …and not even in the details (WipeDetailed)
    assert sandbox.errors_shown_to(member["id"]) == [body["message"]]
    assert alice.ephemeral_messages == []


def test_a_command_that_answers_200_is_shown(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    _command(admin, team, integration_receiver.url + "/commands")
    integration_receiver.reply = lambda call: (
        200,
        {"response_type": "ephemeral", "text": KIND_WORDS},
    )
    town = sandbox.channel_by_name(team["id"], "town-square")
    alice = as_user(sandbox, member["id"])
    answer = alice.run_command(town["id"], "/support")
    assert answer["text"] == KIND_WORDS and answer["trigger_id"]
    [ephemeral] = alice.ephemeral_messages
    assert ephemeral["message"] == KIND_WORDS and ephemeral["user_id"] == member["id"]
    assert sandbox.errors_shown_to(member["id"]) == []


def test_a_command_request_is_the_servers(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    """The text is everything after the first white space, unstripped; the trigger is
    lower-cased; root_id and the mentions are sent."""
    _command(admin, team, integration_receiver.url + "/commands")
    town = sandbox.channel_by_name(team["id"], "town-square")
    bob = sandbox.create_user("bob")
    sandbox.add_team_member(team["id"], bob["id"])
    alice = as_user(sandbox, member["id"])
    root = alice.post(town["id"], "a thread")
    alice.run_command(town["id"], "/SUPPORT  ask @bob in ~off-topic ", root_id=root["id"])
    form = integration_receiver.calls[-1].form
    assert form["command"] == "/support"
    assert form["text"] == " ask @bob in ~off-topic "
    assert form["root_id"] == root["id"]
    assert (form["user_mentions"], form["user_mentions_ids"]) == ("bob", bob["id"])
    off_topic = sandbox.channel_by_name(team["id"], "off-topic")
    assert (form["channel_mentions"], form["channel_mentions_ids"]) == (
        "off-topic",
        off_topic["id"],
    )


def test_an_unknown_command_names_the_trigger_without_its_slash(
    sandbox: Sandbox, team: dict[str, Any], member: dict[str, Any]
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    with pytest.raises(CallFailed) as unknown:
        as_user(sandbox, member["id"]).run_command(town["id"], "/Nothing here")
    assert unknown.value.response.json()["message"].startswith(
        "Command with a trigger of 'nothing' not found."
    )


def test_a_command_text_as_long_as_a_post(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    """Mattermost lets a person type a command as long as a post (16,383 characters) and
    refuses an answer that could not be a post."""
    _command(admin, team, integration_receiver.url + "/commands")
    town = sandbox.channel_by_name(team["id"], "town-square")
    alice = as_user(sandbox, member["id"])
    long_text = "é" * (MAX_POST_LENGTH - len("/support "))
    alice.run_command(town["id"], f"/support {long_text}")
    assert integration_receiver.calls[-1].form["text"] == long_text
    integration_receiver.reply = lambda call: (200, {"text": "x" * (MAX_POST_LENGTH + 1)})
    with pytest.raises(CallFailed) as too_long:
        alice.run_command(town["id"], "/support")
    assert too_long.value.response.json()["id"] == (
        "api.command.execute_command.create_post_failed.app_error"
    )


def test_a_command_gets_the_outgoing_timeout(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    """ServiceSettings.OutgoingIntegrationRequestsTimeout (30 s by default), then "failed"."""
    _command(admin, team, integration_receiver.url + "/commands")
    sandbox.patch_config({"ServiceSettings": {"OutgoingIntegrationRequestsTimeout": 1}})

    def slow(call: ReceivedCall) -> tuple[int, Any]:
        time.sleep(2)
        return 200, {"text": "too late"}

    integration_receiver.reply = slow
    town = sandbox.channel_by_name(team["id"], "town-square")
    started = time.monotonic()
    with pytest.raises(CallFailed) as late:
        as_user(sandbox, member["id"]).run_command(town["id"], "/support")
    assert time.monotonic() - started < 1.9
    assert late.value.response.json()["message"] == "Command with a trigger of 'support' failed."
    assert sandbox.errors_shown_to(member["id"]) == ["Command with a trigger of 'support' failed."]


def test_a_button_answered_with_an_error_shows_the_servers_message(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    post = _button_post(sandbox, admin, team, integration_receiver.url + "/actions")
    integration_receiver.reply = lambda call: (403, {"ephemeral_text": KIND_WORDS})
    alice = as_user(sandbox, member["id"])
    with pytest.raises(CallFailed) as failed:
        alice.click(post["id"], "yes")
    assert failed.value.status_code == 400
    assert failed.value.response.json()["id"] == "api.post.do_action.action_integration.app_error"
    assert sandbox.errors_shown_to(member["id"]) == ["Action integration error."]
    assert alice.ephemeral_messages == []


def test_a_button_answered_with_200_and_its_ephemeral_text(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    post = _button_post(sandbox, admin, team, integration_receiver.url + "/actions")
    sandbox.react(sandbox.admin_user_id, post["id"], "tada", check_access=False)
    integration_receiver.reply = lambda call: (
        200,
        {"update": {"message": "Voted"}, "ephemeral_text": KIND_WORDS},
    )
    alice = as_user(sandbox, member["id"])
    answer = alice.click(post["id"], "yes")
    assert answer["status"] == "OK" and answer["trigger_id"]
    [ephemeral] = alice.ephemeral_messages
    # From the person who clicked, in the post's thread (DoPostActionWithCookie).
    assert (ephemeral["user_id"], ephemeral["root_id"]) == (member["id"], post["id"])
    stored = sandbox.state.posts[post["id"]]
    assert stored["message"] == "Voted"
    assert stored["props"]["attachments"]  # no props in the update: the old ones are kept
    assert stored["has_reactions"] is True
    payload = integration_receiver.calls[-1]
    assert payload.headers["Content-Type"] == "application/json"
    assert payload.json["type"] == "button" and payload.json["data_source"] == ""


def test_a_dialog_answered_with_an_error_shows_the_servers_message(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    alice = as_user(sandbox, member["id"])
    body = {
        "url": integration_receiver.url + "/dialogs",
        "callback_id": "c",
        "state": "s",
        "channel_id": town["id"],
        "team_id": team["id"],
        "submission": {"topic": "vpn"},
    }
    integration_receiver.reply = lambda call: (409, {"error": KIND_WORDS})
    refused = alice.http.post(f"{sandbox.url}/api/v4/actions/dialogs/submit", json=body, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["id"] == "api.post.do_action.action_integration.app_error"
    assert sandbox.errors_shown_to(member["id"]) == ["Action integration error."]
    integration_receiver.reply = lambda call: (200, {"error": KIND_WORDS, "type": "ok"})
    kept = alice.http.post(f"{sandbox.url}/api/v4/actions/dialogs/submit", json=body, timeout=10)
    assert kept.json() == {"error": KIND_WORDS}
    # The web app always sends the team on screen: an empty one is refused (view_team).
    no_team = alice.http.post(
        f"{sandbox.url}/api/v4/actions/dialogs/submit", json={**body, "team_id": ""}, timeout=10
    )
    assert no_team.status_code == 403
