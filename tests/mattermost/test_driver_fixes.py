"""Each of mattermostdriver 7.3.2's defects, shown on the driver itself, then its fix."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import pytest
import responses
from mattermostdriver import Driver
from mattermostdriver.client import Client
from responses import matchers

from plugin.mattermost import MattermostClient
from plugin.mattermost.driver_fixes import TLSFixedWebsocket, client_tls_context
from tests.mattermost.conftest import API, TOKEN, payload

CHANNEL = "c4h3a2n1e0l9k8j7h6g5f4d3sa"
BOOKMARK = "b1o2o3k4m5a6r7k8i9d0a1b2ca"


def _plain_driver() -> Driver:
    return Driver({"scheme": "http", "url": "127.0.0.1", "port": 8065, "token": TOKEN})


# --------------------------------------------------------------------------- 1. no PATCH


def test_the_plain_driver_turns_patch_into_get(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}/channels/{CHANNEL}/bookmarks/{BOOKMARK}", json={})
    _plain_driver().client.make_request("patch", f"/channels/{CHANNEL}/bookmarks/{BOOKMARK}")
    assert rsps.calls[0].request.method == "GET"  # the defect


def test_our_driver_client_sends_a_real_patch(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    body = {"display_name": "Guide de démarrage"}
    rsps.patch(
        f"{API}/channels/{CHANNEL}/bookmarks/{BOOKMARK}",
        json=payload("bookmark_patch"),
        match=[matchers.json_params_matcher(body)],
    )
    rsps.patch(
        f"{API}/channels/{CHANNEL}/bookmarks/{BOOKMARK}",
        json=payload("bookmark_patch"),
        match=[matchers.json_params_matcher(body)],
    )
    # through the driver's client (what any driver-based code would call) …
    mm.driver.client.make_request("patch", f"/channels/{CHANNEL}/bookmarks/{BOOKMARK}", body)
    # … and through the adapter's verb
    answer = mm.update_bookmark(CHANNEL, BOOKMARK, body)
    assert answer["updated"]["display_name"] == "Guide de démarrage"
    assert [c.request.method for c in rsps.calls] == ["PATCH", "PATCH"]


def test_our_driver_client_uses_one_pooled_session(mm: MattermostClient) -> None:
    import requests

    assert isinstance(mm.driver.client._transport.session, requests.Session)
    adapter = mm.driver.client._transport.session.get_adapter("http://127.0.0.1:8065/")
    assert adapter._pool_maxsize >= 10  # type: ignore[attr-defined]


def test_our_driver_client_sends_no_body_on_get(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    rsps.get(f"{API}/users/me", json=payload("users_me"))
    mm.driver.users.get_user("me")
    assert rsps.calls[0].request.body is None  # the plain driver sends "{}" on every GET


# --------------------------------------------------------------------------- 2. command paths


@pytest.mark.parametrize(
    ("call", "method", "broken_path"),
    [
        (lambda d: d.commands.update_command("c1d", options={}), "PUT", "/commandsc1d"),
        (lambda d: d.commands.delete_command("c1d"), "DELETE", "/commandsc1d"),
        (lambda d: d.commands.generate_new_token("c1d"), "PUT", "/commandsc1d/regen_token"),
    ],
    ids=["update", "delete", "regen_token"],
)
def test_the_plain_driver_builds_command_paths_without_a_slash(
    rsps: responses.RequestsMock, call: Any, method: str, broken_path: str
) -> None:
    rsps.add(method, f"{API}{broken_path}", status=404, json=payload("error_not_found"))
    with pytest.raises(Exception):  # noqa: B017 - the driver's own ResourceNotFound
        call(_plain_driver())
    assert rsps.calls[0].request.path_url == f"/api/v4{broken_path}"


def test_command_update_delete_and_regen_use_the_right_paths(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    command = payload("command")
    changed = {**command, "description": "Nouvelle description"}
    rsps.put(
        f"{API}/commands/{command['id']}",
        json=changed,
        match=[matchers.json_params_matcher(changed)],
    )
    rsps.put(f"{API}/commands/{command['id']}/regen_token", json=payload("command_regen_token"))
    rsps.delete(f"{API}/commands/{command['id']}", json=payload("status_ok"))
    assert mm.update_command(changed)["description"] == "Nouvelle description"
    assert mm.regenerate_command_token(command["id"]) == "n3wt0k3nn3wt0k3nn3wt0k3nna"
    mm.delete_command(command["id"])


# --------------------------------------------------------------------------- 3. query params


def test_the_plain_driver_cannot_send_graceful(rsps: responses.RequestsMock) -> None:
    rsps.post(f"{API}/teams/t1/members/batch", json=[], status=201)
    _plain_driver().teams.add_multiple_users_to_team("t1", options=[])
    assert "graceful" not in str(rsps.calls[0].request.url)  # no way to pass it


def test_batch_and_invite_calls_carry_graceful_true(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    rsps.post(
        f"{API}/teams/t1/members/batch",
        json=[],
        status=201,
        match=[matchers.query_param_matcher({"graceful": "true"})],
    )
    rsps.post(
        f"{API}/teams/t1/invite/email",
        json=payload("invite_email_graceful"),
        match=[matchers.query_param_matcher({"graceful": "true"})],
    )
    mm.add_team_members("t1", ["u1"])
    mm.invite_by_email("t1", ["camille.martin@example.com", "nobody@elsewhere.org"])


# --------------------------------------------------------------------------- 4. websocket TLS


def test_the_drivers_websocket_tls_context_is_a_server_context() -> None:
    broken = ssl.create_default_context(purpose=ssl.Purpose.CLIENT_AUTH)  # what 7.3.2 builds
    assert broken.protocol == ssl.PROTOCOL_TLS_SERVER


def test_the_fixed_tls_context_is_a_verifying_client_context() -> None:
    context = client_tls_context()
    assert context.protocol == ssl.PROTOCOL_TLS_CLIENT
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    lax = client_tls_context(verify=False)
    assert lax.protocol == ssl.PROTOCOL_TLS_CLIENT and lax.verify_mode == ssl.CERT_NONE


def test_the_fixed_websocket_connects_with_the_client_context_and_gives_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, Any]] = []

    def refuse(url: str, **kwargs: Any) -> Any:
        seen.append({"url": url, **kwargs})
        raise ConnectionRefusedError("nobody listening")

    monkeypatch.setattr("plugin.mattermost.driver_fixes.websockets.connect", refuse)
    options = {
        **Driver.default_options,
        "scheme": "https",
        "url": "127.0.0.1",
        "port": 8065,
        "keepalive_delay": 0,
        "websocket_kw_args": {"ssl": "collides-in-the-driver", "max_size": 2**20},
    }
    socket = TLSFixedWebsocket(options, TOKEN)

    async def handler(message: str) -> None:  # pragma: no cover - never connected
        return None

    with pytest.raises(ConnectionRefusedError):
        asyncio.run(socket.connect(handler))
    assert len(seen) == TLSFixedWebsocket.max_attempts  # bounded, not forever
    assert seen[0]["url"] == "wss://127.0.0.1:8065/api/v4/websocket"
    assert seen[0]["ssl"].protocol == ssl.PROTOCOL_TLS_CLIENT
    assert seen[0]["max_size"] == 2**20


def test_the_driver_client_class_is_ours(mm: MattermostClient) -> None:
    assert isinstance(mm.driver.client, Client)
    assert type(mm.driver.client).make_request is not Client.make_request
