"""The calls Mattermost's own JavaScript client makes as soon as it logs in, as the server
answers them (``api4/user.go``, ``api4/team.go``, ``api4/channel.go``, ``api4/command.go``),
with the contract check on. ``tests/sandbox/test_js_client.py`` drives them with the real
client."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from plugin.sandbox import Sandbox
from tests.helpers.sandbox import SPEC_PRESENT
from tests.sandbox.conftest import Api, as_api, take_violations

PASSWORD = "Sandbox-password-1"


@pytest.fixture
def scene(sandbox: Sandbox, team: dict[str, Any]) -> dict[str, Any]:
    alice = sandbox.create_user(
        "alice", first_name="Alice", last_name="Martin", nickname="Ali", password=PASSWORD
    )
    bob = sandbox.create_user("bob.durand", first_name="Bob", last_name="Durand")
    gone = sandbox.create_user("alicia", first_name="Alicia")
    for user in (alice, bob, gone):
        sandbox.add_team_member(team["id"], user["id"])
    private = sandbox.create_team("board", type="I", admin_id=sandbox.admin_user_id)
    channel = sandbox.create_channel(team["id"], "wave-1")
    sandbox.add_channel_member(channel["id"], alice["id"])
    sandbox.state.users[gone["id"]]["delete_at"] = 1
    return {"alice": alice, "bob": bob, "gone": gone, "private": private, "channel": channel}


def test_login_gives_a_token_in_the_header(sandbox: Sandbox, scene: dict[str, Any]) -> None:
    response = requests.post(
        f"{sandbox.url}/api/v4/users/login",
        json={"login_id": "ALICE", "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["id"] == scene["alice"]["id"]
    token = response.headers["Token"]
    me = Api(sandbox, token).get("/users/me").json()
    assert me["username"] == "alice"
    by_email = requests.post(
        f"{sandbox.url}/api/v4/users/login",
        json={"login_id": "alice@sandbox.test", "password": PASSWORD},
        timeout=10,
    )
    assert by_email.status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "error_id"),
    [
        ({"login_id": "alice", "password": "wrong"}, 401, "invalid_credentials_email_username"),
        ({"login_id": "nobody", "password": PASSWORD}, 401, "invalid_credentials_email_username"),
        ({"login_id": "alice", "password": ""}, 400, "api.user.login.blank_pwd.app_error"),
        ({"login_id": "alicia", "password": "x"}, 401, "api.user.login.inactive.app_error"),
    ],
)
def test_login_refusals_are_the_servers(
    sandbox: Sandbox, scene: dict[str, Any], body: dict[str, str], status: int, error_id: str
) -> None:
    response = requests.post(f"{sandbox.url}/api/v4/users/login", json=body, timeout=10)
    assert response.status_code == status
    assert error_id in response.json()["id"]
    assert "Token" not in response.headers


def test_a_bot_cannot_log_in(sandbox: Sandbox) -> None:
    bot = sandbox.create_bot("envol", "Envol")
    sandbox.state.passwords[bot["user_id"]] = PASSWORD
    response = requests.post(
        f"{sandbox.url}/api/v4/users/login",
        json={"login_id": "envol", "password": PASSWORD},
        timeout=10,
    )
    assert response.json()["id"] == "api.user.login.bot_login_forbidden.app_error"


def test_teams_list_open_teams_to_people_and_every_team_to_admins(
    sandbox: Sandbox, admin: Api, scene: dict[str, Any]
) -> None:
    alice = as_api(sandbox, scene["alice"]["id"])
    assert [t["name"] for t in alice.get("/teams").json()] == ["acme"]
    assert [t["name"] for t in admin.get("/teams").json()] == ["acme", "board"]
    counted = admin.get("/teams", params={"include_total_count": "true", "per_page": 1}).json()
    assert counted["total_count"] == 2 and len(counted["teams"]) == 1


def test_team_member_and_stats(
    sandbox: Sandbox, team: dict[str, Any], scene: dict[str, Any]
) -> None:
    alice = as_api(sandbox, scene["alice"]["id"])
    member = alice.get(f"/teams/{team['id']}/members/{scene['bob']['id']}").json()
    assert (member["team_id"], member["user_id"]) == (team["id"], scene["bob"]["id"])
    outsider = sandbox.create_user("outsider")
    missing = alice.get(f"/teams/{team['id']}/members/{outsider['id']}")
    assert missing.status_code == 404
    assert missing.json()["id"] == "app.team.get_member.missing.app_error"
    assert as_api(sandbox, outsider["id"]).get(f"/teams/{team['id']}/stats").status_code == 403
    stats = alice.get(f"/teams/{team['id']}/stats").json()
    # The admin, alice, bob and the deactivated alicia are members; three are active.
    assert stats == {"team_id": team["id"], "total_member_count": 4, "active_member_count": 3}


def test_user_search(sandbox: Sandbox, team: dict[str, Any], scene: dict[str, Any]) -> None:
    alice = as_api(sandbox, scene["alice"]["id"])
    found = alice.post("/users/search", json={"term": "ali", "team_id": team["id"]}).json()
    assert [u["username"] for u in found] == ["alice"]  # alicia is deactivated
    with_inactive = alice.post("/users/search", json={"term": "ali", "allow_inactive": True})
    assert [u["username"] for u in with_inactive.json()] == ["alice", "alicia"]
    assert [u["username"] for u in alice.post("/users/search", json={"term": "durand"}).json()] == [
        "bob.durand"
    ]
    not_in = alice.post(
        "/users/search",
        json={"term": "a", "team_id": team["id"], "not_in_channel_id": scene["channel"]["id"]},
    ).json()
    assert "alice" not in [u["username"] for u in not_in]
    assert alice.post("/users/search", json={"term": ""}).json()["id"] == (
        "api.context.invalid_param.app_error"
    )
    assert alice.post("/users/search", json={"term": "a", "limit": 1001}).status_code == 400
    refused = alice.post("/users/search", json={"term": "a", "not_in_channel_id": "c" * 26})
    assert refused.json()["message"] == "Invalid team_id parameter."


def test_user_autocomplete(sandbox: Sandbox, team: dict[str, Any], scene: dict[str, Any]) -> None:
    alice = as_api(sandbox, scene["alice"]["id"])
    in_team = alice.get("/users/autocomplete", params={"in_team": team["id"], "name": "b"}).json()
    assert [u["username"] for u in in_team["users"]] == ["bob.durand"]
    assert "out_of_channel" not in in_team
    in_channel = alice.get(
        "/users/autocomplete",
        params={"in_team": team["id"], "in_channel": scene["channel"]["id"], "name": ""},
    ).json()
    assert [u["username"] for u in in_channel["users"]] == ["alice"]
    assert "bob.durand" in [u["username"] for u in in_channel["out_of_channel"]]
    no_team = alice.get("/users/autocomplete", params={"in_channel": scene["channel"]["id"]})
    assert no_team.json()["id"] == "api.user.autocomplete_users.missing_team_id.app_error"
    # Never on e-mails.
    assert alice.get("/users/autocomplete", params={"name": "sandbox"}).json()["users"] == []
    # The spec wants a non-empty name; the server (and the web app, which sends name="") do not.
    assert len(take_violations(sandbox)) == (2 if SPEC_PRESENT else 0)


def test_my_channel_member_and_my_channels(
    sandbox: Sandbox, team: dict[str, Any], scene: dict[str, Any]
) -> None:
    alice = as_api(sandbox, scene["alice"]["id"])
    channel = scene["channel"]
    member = alice.get(f"/channels/{channel['id']}/members/me").json()
    assert (member["channel_id"], member["user_id"]) == (channel["id"], scene["alice"]["id"])
    bob = as_api(sandbox, scene["bob"]["id"])
    absent = bob.get(f"/channels/{channel['id']}/members/me")
    assert absent.status_code == 404
    assert absent.json()["id"] == "app.channel.get_member.missing.app_error"
    mine = alice.get(f"/users/me/teams/{team['id']}/channels").json()
    assert sorted(c["name"] for c in mine) == ["off-topic", "town-square", "wave-1"]
    dm = alice.post("/channels/direct", json=[scene["alice"]["id"], scene["bob"]["id"]]).json()
    assert dm["id"] in [c["id"] for c in alice.get(f"/users/me/teams/{team['id']}/channels").json()]
    others = alice.get(f"/users/{scene['bob']['id']}/teams/{team['id']}/channels")
    assert others.status_code == 403


def test_command_autocomplete_suggestions(
    sandbox: Sandbox, admin: Api, team: dict[str, Any], scene: dict[str, Any]
) -> None:
    for trigger, autocomplete in (("envol", True), ("entrée", False), ("aide", True)):
        admin.post(
            "/commands",
            json={
                "team_id": team["id"],
                "trigger": trigger.replace("é", "e"),
                "method": "P",
                "url": "http://127.0.0.1:9/commands",
                "auto_complete": autocomplete,
                "auto_complete_desc": f"{trigger} help",
                "auto_complete_hint": "[help]",
            },
        )
    alice = as_api(sandbox, scene["alice"]["id"])
    path = f"/teams/{team['id']}/commands/autocomplete_suggestions"
    suggestions = alice.get(path, params={"user_input": "/en"}).json()
    assert suggestions == [
        {
            "Complete": "envol",
            "Suggestion": "envol",
            "Hint": "[help]",
            "Description": "envol help",
            "IconData": "",
        }
    ]
    assert alice.get(path, params={"user_input": "/envol sup"}).json() == []
    assert alice.get(path, params={"user_input": ""}).json()["message"] == (
        "Invalid userInput parameter."
    )
    take_violations(sandbox)  # an empty user_input breaks the spec too: sent on purpose


def test_a_bot_becomes_a_system_admin_over_the_api(sandbox: Sandbox, admin: Api) -> None:
    """The README's step: a bot account with the system_admin role, through PUT …/roles."""
    bot = sandbox.create_bot("envol", "Envol")
    path = f"/users/{bot['user_id']}/roles"
    assert admin.put(path, json={"roles": "system_admin"}).json()["id"] == (
        "api.context.invalid_param.app_error"
    )  # system_admin alone is refused: it must come with system_user
    assert admin.put(path, json={"roles": "system_user system_manager"}).json()["id"] == (
        "api.user.update_user_roles.license.app_error"
    )
    plain = sandbox.create_user("plain")
    assert as_api(sandbox, plain["id"]).put(path, json={"roles": "system_user"}).status_code == 403
    assert admin.put(path, json={"roles": "system_user system_admin"}).json() == {"status": "OK"}
    assert sandbox.state.is_system_admin(bot["user_id"])
    token = sandbox.create_token(bot["user_id"])
    assert Api(sandbox, token).get("/config").status_code == 200
