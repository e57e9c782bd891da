"""The people's in-process transport answers as the sandbox does over HTTP, and the sandbox
records the request as any other."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests

from plugin.demo.in_process import WsgiAdapter
from plugin.demo.person import PERSON_HEADER, AppUser, CallFailed
from plugin.demo.sandbox_people import as_user
from plugin.mattermost import MattermostClient, Retryable
from plugin.sandbox import Sandbox
from tests.helpers.sandbox import IntegrationReceiver

# A 1×1 PNG: a real image for the profile picture upload (multipart).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    server = Sandbox.start(contract=False)
    yield server
    server.stop()


def _person(sandbox: Sandbox, *, in_process: bool) -> AppUser:
    user = sandbox.create_user("amelie", email="amelie@exemple-sa.example")
    person = AppUser(sandbox.url, str(user["id"]), sandbox.create_token(str(user["id"])))
    if in_process:
        person.http.mount(f"{sandbox.url}/", WsgiAdapter(sandbox.wsgi_app))
    return person


def _session(sandbox: Sandbox, *, in_process: bool) -> requests.Session:
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {sandbox.admin_token}", PERSON_HEADER: "1"})
    if in_process:
        http.mount(f"{sandbox.url}/", WsgiAdapter(sandbox.wsgi_app))
    return http


@pytest.mark.parametrize(
    "path", ["/api/v4/users/me", "/api/v4/nothing-here", "/api/v4/users?page=0&per_page=2"]
)
def test_the_same_answer_as_over_http(sandbox: Sandbox, path: str) -> None:
    over_http = _session(sandbox, in_process=False).get(sandbox.url + path, timeout=10)
    in_process = _session(sandbox, in_process=True).get(sandbox.url + path, timeout=10)

    assert in_process.status_code == over_http.status_code
    assert in_process.reason == over_http.reason
    assert in_process.headers["Content-Type"] == over_http.headers["Content-Type"]
    body, expected = in_process.json(), over_http.json()
    if isinstance(expected, dict):  # an error names its own request
        body.pop("request_id", None)
        expected.pop("request_id", None)
    assert body == expected
    assert in_process.url == sandbox.url + path


def test_a_person_posts_uploads_and_fails_in_process(sandbox: Sandbox) -> None:
    team = sandbox.create_team("acme", "Acme")
    channel = sandbox.create_channel(team["id"], "cafe", "Café")
    person = _person(sandbox, in_process=True)
    sandbox.add_team_member(team["id"], person.user_id)
    sandbox.add_channel_member(channel["id"], person.user_id)
    before = len(sandbox.request_log)

    post = person.post(channel["id"], "Bonjour à tous ☕")  # a JSON body, non-ASCII
    person._call(
        "POST", f"/users/{person.user_id}/image", files={"image": ("me.png", PNG, "image/png")}
    )
    with pytest.raises(CallFailed) as refused:
        person.post("0" * 26, "nowhere")

    assert sandbox.state.posts[post["id"]]["message"] == "Bonjour à tous ☕"
    assert sandbox.state.users[person.user_id]["last_picture_update"] > 0
    assert refused.value.status_code in (403, 404)
    assert "POST" in str(refused.value)
    logged = sandbox.request_log.entries()[before:]
    assert [(e.method, e.route, e.user_id) for e in logged] == [
        ("POST", "/api/v4/posts", person.user_id),
        ("POST", "/api/v4/users/{user_id}/image", person.user_id),
        ("POST", "/api/v4/posts", person.user_id),
    ]


@pytest.mark.parametrize("in_process", [False, True], ids=["over-http", "in-process"])
def test_envol_sees_a_dropped_connection_as_over_the_network(
    sandbox: Sandbox, in_process: bool
) -> None:
    """``--faults`` drops Envol's connections: in process, the client must draw the same
    conclusion (it may have been applied, so not re-sent) as from a reset socket."""
    team = sandbox.create_team("acme", "Acme")
    channel = sandbox.create_channel(team["id"], "cafe", "Café")
    session = None
    if in_process:
        session = requests.Session()
        session.mount(f"{sandbox.url}/", WsgiAdapter(sandbox.wsgi_app))
    client = MattermostClient(sandbox.url, sandbox.admin_token, session=session)
    sandbox.set_faults(drop_rate=1.0, seed=1)

    with pytest.raises(Retryable, match="may have been applied"):
        client.create_post(channel["id"], "Bienvenue")

    assert [e.fault for e in sandbox.request_log.entries()] == ["drop"]


def test_the_sandbox_calls_an_integration_in_process(sandbox: Sandbox) -> None:
    """A WSGI application mounted on the sandbox's integrations client gets the slash command
    as a server's HTTP call would bring it, with no port open."""
    receiver = IntegrationReceiver(reply=lambda call: (200, {"text": "On it!"}))
    url = "http://webhooks.invalid"  # nothing listens there: only the mount can answer
    sandbox.integrations.mount(f"{url}/", WsgiAdapter(receiver))
    team = sandbox.create_team("acme", "Acme")
    user = sandbox.create_user("alice")
    sandbox.add_team_member(team["id"], user["id"])
    admin = requests.Session()
    admin.headers["Authorization"] = f"Bearer {sandbox.admin_token}"
    command = admin.post(
        f"{sandbox.url}/api/v4/commands",
        json={"team_id": team["id"], "trigger": "aide", "method": "P", "url": f"{url}/cmd"},
        timeout=10,
    ).json()
    town = sandbox.channel_by_name(team["id"], "town-square")

    answer = as_user(sandbox, user["id"]).run_command(town["id"], "/aide mon badge")

    assert answer["text"] == "On it!"
    [received] = receiver.calls
    assert received.headers["Authorization"] == f"Token {command['token']}"
    assert (received.form["command"], received.form["text"]) == ("/aide", "mon badge")
