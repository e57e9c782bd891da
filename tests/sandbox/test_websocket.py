"""GET /api/v4/websocket: a raw client sees the server's protocol, and a person gets dialogs and
ephemeral posts only from it (nothing of the sandbox's Python API is read)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import websocket

from plugin.demo.sandbox_people import as_user
from plugin.sandbox import Sandbox
from tests.helpers.sandbox import IntegrationReceiver, ReceivedCall
from tests.sandbox.conftest import Api


@pytest.fixture
def member(sandbox: Sandbox, team: dict[str, Any]) -> dict[str, Any]:
    user = sandbox.create_user("alice", first_name="Alice")
    sandbox.add_team_member(team["id"], user["id"])
    return user


def _socket(sandbox: Sandbox, **options: Any) -> websocket.WebSocket:
    url = sandbox.url.replace("http://", "ws://") + "/api/v4/websocket"
    return websocket.create_connection(url, timeout=5, **options)


def _end(*sockets: websocket.WebSocket) -> None:
    for ws in sockets:
        ws.close()
        ws.shutdown()  # close() returns early once the server's close frame came in


def _next(ws: websocket.WebSocket) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv())
    return message


def test_the_challenge_authenticates_then_hello_and_replies_by_seq(
    sandbox: Sandbox, member: dict[str, Any]
) -> None:
    token = sandbox.create_token(member["id"])
    ws = _socket(sandbox)
    try:
        ws.send(json.dumps({"seq": 1, "action": "get_statuses"}))
        refused = _next(ws)
        assert refused["status"] == "FAIL" and refused["seq_reply"] == 1
        assert refused["error"]["id"] == "api.web_socket_router.not_authenticated.app_error"

        challenge = {"seq": 2, "action": "authentication_challenge", "data": {"token": token}}
        ws.send(json.dumps(challenge))
        received = [_next(ws), _next(ws)]
        hello = next(m for m in received if m.get("event") == "hello")
        assert hello["seq"] == 0
        assert hello["broadcast"]["user_id"] == member["id"]
        assert set(hello["data"]) == {"server_version", "connection_id"}
        assert {"status": "OK", "seq_reply": 2} in received

        ws.send(json.dumps({"seq": 3, "action": "no_such_thing"}))
        unknown = _next(ws)
        assert (unknown["status"], unknown["seq_reply"]) == ("FAIL", 3)
        assert unknown["error"]["id"] == "api.web_socket_router.bad_action.app_error"
    finally:
        _end(ws)
    assert sandbox.request_log.count("GET", "/api/v4/websocket") == 1


def test_a_wrong_token_closes_the_connection_and_a_header_token_is_checked(
    sandbox: Sandbox,
) -> None:
    ws = _socket(sandbox)
    ws.send(json.dumps({"seq": 1, "action": "authentication_challenge", "data": {"token": "x"}}))
    try:
        closing = ws.recv()  # the server's close frame: websocket-client answers "" for it
    except websocket.WebSocketConnectionClosedException:
        closing = ""
    assert closing == ""
    _end(ws)
    upgrade = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    refused = requests.get(
        f"{sandbox.url}/api/v4/websocket",
        headers={**upgrade, "Authorization": "Bearer wrong"},
        timeout=5,
    )
    assert refused.status_code == 401
    assert refused.json()["id"] == "api.context.session_expired.app_error"


def test_an_ephemeral_post_reaches_only_the_persons_socket_as_a_json_string(
    sandbox: Sandbox, admin: Api, team: dict[str, Any], member: dict[str, Any]
) -> None:
    other = sandbox.create_user("bob")
    sandbox.add_team_member(team["id"], other["id"])
    town = sandbox.channel_by_name(team["id"], "town-square")
    ws = _socket(sandbox, header=[f"Authorization: Bearer {sandbox.create_token(member['id'])}"])
    bobs = _socket(sandbox, header=[f"Authorization: Bearer {sandbox.create_token(other['id'])}"])
    try:
        assert _next(ws)["event"] == "hello"
        assert _next(bobs)["event"] == "hello"
        sent = admin.post(
            "/posts/ephemeral",
            json={"user_id": member["id"], "post": {"channel_id": town["id"], "message": "Psst"}},
        )
        assert sent.status_code == 201
        event = _next(ws)
        assert event["event"] == "ephemeral_message"
        assert event["seq"] == 1
        assert event["broadcast"]["user_id"] == member["id"]
        assert event["broadcast"]["channel_id"] == town["id"]
        post = json.loads(event["data"]["post"])
        assert (post["message"], post["type"]) == ("Psst", "system_ephemeral")
        bobs.send(json.dumps({"seq": 1, "action": "get_statuses"}))
        assert _next(bobs)["seq_reply"] == 1  # Bob's next message is his reply: no event
    finally:
        _end(ws, bobs)


def _dialog_opener(sandbox: Sandbox, receiver_url: str) -> Any:
    def reply(call: ReceivedCall) -> tuple[int, Any]:
        if call.path == "/commands" and call.form["text"] == "form":
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
                        "elements": [{"display_name": "Topic", "name": "topic", "type": "text"}],
                    },
                },
            )
            assert opened.status_code == 200, opened.text
            return 200, {}
        if call.path == "/commands":
            return 200, {"response_type": "ephemeral", "text": f"you said {call.form['text']}"}
        return 200, {}

    return reply


def test_a_person_gets_dialogs_and_ephemeral_posts_over_the_websocket(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    member: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    registered = admin.post(
        "/commands",
        json={
            "team_id": team["id"],
            "trigger": "support",
            "method": "P",
            "url": integration_receiver.url + "/commands",
        },
    )
    assert registered.status_code == 201
    integration_receiver.reply = _dialog_opener(sandbox, integration_receiver.url)
    town = sandbox.channel_by_name(team["id"], "town-square")
    alice = as_user(sandbox, member["id"])

    for word in ("one", "two", "three"):
        alice.run_command(town["id"], f"/support {word}")
    # Read right after the answers, with no sleep: every event is in, in order.
    assert [p["message"] for p in alice.ephemeral_messages] == [
        "you said one",
        "you said two",
        "you said three",
    ]

    answer = alice.run_command(town["id"], "/support form")
    dialog = alice.wait_for_dialog(answer["trigger_id"])
    assert dialog == alice.last_dialog
    assert (dialog.dialog["title"], dialog.url) == (
        "Ask for help",
        integration_receiver.url + "/dialog",
    )
    # The event carries no channel: the person's app knows where the command was typed.
    assert (dialog.channel_id, dialog.team_id) == (town["id"], team["id"])
    assert alice.submit_dialog({"topic": "vpn"}) == {}
    assert integration_receiver.calls[-1].json["channel_id"] == town["id"]

    # What the person read is what the sandbox recorded, but from the socket only.
    assert [p["id"] for p in alice.ephemeral_messages] == [
        p["id"] for p in sandbox.ephemeral_for(member["id"])
    ]
    assert [d.trigger_id for d in alice.dialogs] == [
        d.trigger_id for d in sandbox.dialogs_for(member["id"])
    ]
    # A person who connected later never sees them: Mattermost keeps no ephemeral post.
    assert as_user(sandbox, member["id"]).ephemeral_messages == []


def test_reset_disconnects_the_apps(sandbox: Sandbox, member: dict[str, Any]) -> None:
    alice = as_user(sandbox, member["id"])
    alice.connect()
    assert sandbox.events.connections_of(member["id"])
    sandbox.reset()
    alice.app.wait_closed()
    assert not alice.app.connected


def test_a_post_reaches_the_channels_members_apps(
    sandbox: Sandbox, team: dict[str, Any], member: dict[str, Any]
) -> None:
    bob = sandbox.create_user("bob")
    outsider = sandbox.create_user("carol")
    for user in (bob, outsider):
        sandbox.add_team_member(team["id"], user["id"])
    coffee = sandbox.create_channel(team["id"], "coffee")
    for user in (member, bob):
        sandbox.add_channel_member(coffee["id"], user["id"])
    alice, carol = as_user(sandbox, member["id"]), as_user(sandbox, outsider["id"])
    alice.connect()
    carol.connect()
    written = as_user(sandbox, bob["id"]).post(coffee["id"], "Anyone for coffee?")
    [received] = alice.posts_received
    assert (received["id"], received["message"]) == (written["id"], "Anyone for coffee?")
    assert carol.posts_received == []  # not in ~coffee
    event = alice.app.events("posted")[0]
    assert event["data"]["sender_name"] == "@bob"
    assert event["data"]["channel_name"] == "coffee"
    assert event["broadcast"]["channel_id"] == coffee["id"]


def test_only_integrations_and_reading_open_the_app_and_closing_it_lets_the_server_go(
    sandbox: Sandbox, team: dict[str, Any], member: dict[str, Any]
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    alice = as_user(sandbox, member["id"])
    alice.post(town["id"], "Bonjour")
    alice.react(alice.channel_posts(town["id"])[-1]["id"], "wave")
    assert sandbox.events.connections_of(member["id"]) == []  # a crowd that posts pins nothing

    sandbox.send_ephemeral(
        user_id=member["id"], channel_id=town["id"], message="before", props=None,
        sender_id=sandbox.admin_user_id,
    )  # fmt: skip
    assert alice.ephemeral_messages == []  # the app was closed: Mattermost keeps none
    sandbox.send_ephemeral(
        user_id=member["id"], channel_id=town["id"], message="while open", props=None,
        sender_id=sandbox.admin_user_id,
    )  # fmt: skip
    assert [p["message"] for p in alice.ephemeral_messages] == ["while open"]
    assert len(sandbox.events.connections_of(member["id"])) == 1

    alice.close_app()
    alice.app.wait_closed()
    sandbox.send_ephemeral(
        user_id=member["id"], channel_id=town["id"], message="while closed", props=None,
        sender_id=sandbox.admin_user_id,
    )  # fmt: skip
    # Reopened, the app still shows what it had; what came while it was closed is lost.
    assert [p["message"] for p in alice.ephemeral_messages] == ["while open"]
