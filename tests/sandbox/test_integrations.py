"""Slash commands, response URLs, button clicks and dialogs: real HTTP round trips between
the sandbox and a tiny local receiver standing in for Envol's webhooks."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from plugin.demo.person import CallFailed
from plugin.demo.sandbox_people import as_user
from plugin.sandbox import Sandbox
from tests.helpers.sandbox import IntegrationReceiver, ReceivedCall
from tests.sandbox.conftest import Api, as_api


@pytest.fixture
def member(sandbox: Sandbox, team: dict[str, Any]) -> dict[str, Any]:
    user = sandbox.create_user("alice", first_name="Alice")
    sandbox.add_team_member(team["id"], user["id"])
    return user


def _register(admin: Api, team: dict[str, Any], url: str, trigger: str = "support") -> Any:
    response = admin.post(
        "/commands",
        json={
            "team_id": team["id"],
            "trigger": trigger,
            "method": "P",
            "url": url,
            "auto_complete": True,
        },
    )
    assert response.status_code == 201
    return response.json()


def test_command_crud(
    sandbox: Sandbox, admin: Api, team: dict[str, Any], member: dict[str, Any]
) -> None:
    command = _register(admin, team, "http://127.0.0.1:9/commands")
    assert len(command["token"]) == 26
    listed = admin.get("/commands", params={"team_id": team["id"], "custom_only": "true"})
    assert [c["id"] for c in listed.json()] == [command["id"]]
    duplicate = admin.post(
        "/commands",
        json={
            "team_id": team["id"],
            "trigger": "support",
            "method": "P",
            "url": "http://127.0.0.1:9/x",
        },
    )
    assert duplicate.status_code == 400
    updated = admin.put(
        f"/commands/{command['id']}", json={**command, "auto_complete_hint": "[question]"}
    )
    assert updated.json()["auto_complete_hint"] == "[question]"
    new_token = admin.put(f"/commands/{command['id']}/regen_token").json()["token"]
    assert new_token != command["token"]
    not_admin = as_api(sandbox, member["id"]).post(
        "/commands",
        json={
            "team_id": team["id"],
            "trigger": "other",
            "method": "P",
            "url": "http://127.0.0.1:9",
        },
    )
    assert not_admin.status_code == 403
    assert admin.delete(f"/commands/{command['id']}").status_code == 200
    assert admin.get("/commands", params={"team_id": team["id"]}).json() == []


def test_slash_command_round_trip(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    command = _register(admin, team, integration_receiver.url + "/commands")
    integration_receiver.reply = lambda call: (
        200,
        {"response_type": "ephemeral", "text": "On it!"},
    )
    town = sandbox.channel_by_name(team["id"], "town-square")
    alice = as_user(sandbox, member["id"])
    answer = alice.run_command(town["id"], "/support my screen is black")
    assert answer["text"] == "On it!"

    [received] = integration_receiver.calls
    assert received.method == "POST"
    assert received.headers["Authorization"] == f"Token {command['token']}"
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = received.form
    assert form["token"] == command["token"]
    assert form["command"] == "/support"
    assert form["text"] == "my screen is black"
    assert (form["user_id"], form["user_name"]) == (member["id"], "alice")
    assert (form["channel_id"], form["channel_name"]) == (town["id"], "town-square")
    assert (form["team_id"], form["team_domain"]) == (team["id"], "acme")
    assert form["trigger_id"]
    assert form["response_url"].startswith(f"{sandbox.url}/hooks/commands/")
    assert [p["message"] for p in alice.ephemeral_messages] == ["On it!"]
    assert sandbox.posts_in(town["id"]) == []

    # Later, through the response URL: in the channel, at most 5 times.
    for index in range(5):
        reply = requests.post(
            form["response_url"],
            timeout=5,
            json={"response_type": "in_channel", "text": f"update {index}"},
        )
        assert reply.status_code == 200
    sixth = requests.post(form["response_url"], json={"text": "too many"}, timeout=5)
    assert sixth.status_code == 400
    assert [p["message"] for p in sandbox.posts_in(town["id"])] == [f"update {i}" for i in range(5)]


def test_unknown_command_and_failing_integration(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    alice = as_user(sandbox, member["id"])
    with pytest.raises(CallFailed) as unknown:
        alice.run_command(town["id"], "/nothing here")
    assert unknown.value.status_code == 404
    _register(admin, team, integration_receiver.url + "/commands")
    integration_receiver.reply = lambda call: (500, {"oops": True})
    with pytest.raises(CallFailed) as failed:
        alice.run_command(town["id"], "/support")
    assert failed.value.status_code == 500


def _dialog_opener(sandbox: Sandbox, receiver_url: str) -> Any:
    def reply(call: ReceivedCall) -> tuple[int, Any]:
        if call.path == "/commands":
            opened = requests.post(
                f"{sandbox.url}/api/v4/actions/dialogs/open",
                headers={"Authorization": f"Bearer {sandbox.admin_token}"},
                timeout=5,
                json={
                    "trigger_id": call.form["trigger_id"],
                    "url": receiver_url + "/dialog",
                    "dialog": {
                        "callback_id": "support",
                        "title": "Ask for help",
                        "state": "signed-state",
                        "notify_on_cancel": True,
                        "elements": [{"display_name": "Topic", "name": "topic", "type": "text"}],
                    },
                },
            )
            assert opened.status_code == 200, opened.text
            return 200, {}
        if call.json["cancelled"]:
            return 200, {}
        if not call.json["submission"].get("topic"):
            return 200, {"errors": {"topic": "Say what it is about"}}
        return 200, {}

    return reply


def test_dialog_open_and_submit(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    _register(admin, team, integration_receiver.url + "/commands")
    integration_receiver.reply = _dialog_opener(sandbox, integration_receiver.url)
    town = sandbox.channel_by_name(team["id"], "town-square")
    alice = as_user(sandbox, member["id"])
    alice.run_command(town["id"], "/support")
    assert alice.last_dialog.dialog["title"] == "Ask for help"

    assert alice.submit_dialog({"topic": ""}) == {"errors": {"topic": "Say what it is about"}}
    assert alice.submit_dialog({"topic": "vpn"}) == {}
    submitted = integration_receiver.calls[-1].json
    assert submitted == {
        "type": "dialog_submission",
        "callback_id": "support",
        "state": "signed-state",
        "user_id": member["id"],
        "channel_id": town["id"],
        "team_id": team["id"],
        "submission": {"topic": "vpn"},
        "cancelled": False,
    }
    alice.cancel_dialog()
    assert integration_receiver.calls[-1].json["cancelled"] is True


def test_dialog_needs_a_fresh_trigger_id(sandbox: Sandbox, admin: Api) -> None:
    body = {
        "trigger_id": "made-up",
        "url": "http://127.0.0.1:9/dialog",
        "dialog": {"callback_id": "x", "title": "X", "elements": []},
    }
    refused = admin.post("/actions/dialogs/open", json=body)
    assert refused.status_code == 400
    assert refused.json()["id"].startswith("interactive_message.decode_trigger_id")


def test_expired_trigger_id_is_refused(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    _register(admin, team, integration_receiver.url + "/commands")
    town = sandbox.channel_by_name(team["id"], "town-square")
    as_user(sandbox, member["id"]).run_command(town["id"], "/support")
    trigger_id = integration_receiver.calls[0].form["trigger_id"]
    sandbox.patch_config({"ServiceSettings": {"OutgoingIntegrationRequestsTimeout": 0}})
    expired = admin.post(
        "/actions/dialogs/open",
        json={
            "trigger_id": trigger_id,
            "url": "http://127.0.0.1:9/dialog",
            "dialog": {"callback_id": "x", "title": "X", "elements": []},
        },
    )
    assert expired.json()["id"] == "interactive_message.decode_trigger_id.expired"


def test_button_click_round_trip_updates_the_post(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    sandbox.add_channel_member(town["id"], sandbox.admin_user_id)
    poll_url = integration_receiver.url + "/actions/poll"
    props = {
        "attachments": [
            {
                "text": "Which day?",
                "actions": [
                    {
                        "id": "monday",
                        "name": "Monday",
                        "type": "button",
                        "integration": {
                            "url": poll_url,
                            "context": {"poll": "p1", "choice": "mon"},
                        },
                    },
                    {
                        "name": "Tuesday",
                        "type": "button",
                        "integration": {
                            "url": poll_url,
                            "context": {"poll": "p1", "choice": "tue"},
                        },
                    },
                ],
            }
        ]
    }
    created = admin.post(
        "/posts", json={"channel_id": town["id"], "message": "Poll", "props": props}
    ).json()
    shown = created["props"]["attachments"][0]["actions"]
    assert all("integration" not in action for action in shown)  # stripped for clients
    assert shown[1]["id"]  # generated

    integration_receiver.reply = lambda call: (
        200,
        {
            "update": {"message": "Poll (1 vote)", "props": props},
            "ephemeral_text": "Thanks for voting",
        },
    )
    alice = as_user(sandbox, member["id"])
    answer = alice.click(created["id"], alice.find_action(created["id"], "Monday"))
    assert answer["status"] == "OK"
    [received] = integration_receiver.calls
    payload = received.json
    assert payload["context"] == {"poll": "p1", "choice": "mon"}
    assert (payload["user_id"], payload["user_name"]) == (member["id"], "alice")
    assert (payload["post_id"], payload["channel_id"]) == (created["id"], town["id"])
    assert payload["team_id"] == team["id"] and payload["trigger_id"]
    assert "Authorization" not in received.headers
    assert admin.get(f"/posts/{created['id']}").json()["message"] == "Poll (1 vote)"
    assert [p["message"] for p in alice.ephemeral_messages] == ["Thanks for voting"]

    integration_receiver.reply = lambda call: (404, {})
    with pytest.raises(CallFailed) as refused:
        alice.click(created["id"], "monday")
    assert refused.value.status_code == 400


def test_action_ids_must_be_alphanumeric(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    sandbox.add_channel_member(town["id"], sandbox.admin_user_id)
    props = {
        "attachments": [
            {
                "actions": [
                    {
                        "id": "vote-yes",
                        "name": "Yes",
                        "type": "button",
                        "integration": {"url": "http://127.0.0.1:9/a"},
                    }
                ]
            }
        ]
    }
    post = admin.post(
        "/posts", json={"channel_id": town["id"], "message": "?", "props": props}
    ).json()
    assert admin.post(f"/posts/{post['id']}/actions/vote-yes", json={}).status_code == 404


def test_simulated_people_post_reply_and_react(
    sandbox: Sandbox, team: dict[str, Any], member: dict[str, Any]
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    alice = as_user(sandbox, member["id"])
    root = alice.post(town["id"], "Hello")
    alice.reply(root["id"], "anyone?")
    alice.react(root["id"], "wave")
    assert [p["message"] for p in sandbox.posts_in(town["id"])] == ["Hello", "anyone?"]
    assert sandbox.state.posts[root["id"]]["has_reactions"] is True
    alice.update_profile(position="CFO")
    assert sandbox.state.users[member["id"]]["position"] == "CFO"
