"""The sandbox keeps state like Mattermost, seen through plain HTTP."""

from __future__ import annotations

import re
from typing import Any

from plugin.demo.sandbox_people import accept_invite, as_user
from plugin.sandbox import Sandbox
from plugin.sandbox.contract import default_spec_path
from tests.sandbox.conftest import Api, as_api, take_violations

ID = re.compile(r"^[a-z0-9]{26}$")


def test_login_with_token_and_app_error_shape(sandbox: Sandbox, admin: Api) -> None:
    me = admin.get("/users/me")
    assert me.status_code == 200
    assert me.json()["id"] == sandbox.admin_user_id
    assert ID.match(me.json()["id"])
    assert me.headers["X-Version-Id"].startswith("9.11.0.")
    assert me.headers["X-Version-Id"].endswith(".false")

    anonymous = Api(sandbox, None).get("/users/me")
    assert anonymous.status_code == 401
    body = anonymous.json()
    assert set(body) >= {"id", "message", "request_id", "status_code", "is_oauth"}
    assert body["status_code"] == 401
    assert body["request_id"] == anonymous.headers["X-Request-Id"]
    if default_spec_path().is_file():  # no token: off contract (checked when the spec is here)
        assert any("bearerAuth" in v for v in take_violations(sandbox))


def test_ping_needs_no_session(sandbox: Sandbox) -> None:
    response = Api(sandbox, None).get("/system/ping")
    assert response.json()["status"] == "OK"
    assert "X-Version-Id" in response.headers


def test_users_are_created_found_and_patched(sandbox: Sandbox, admin: Api) -> None:
    created = admin.post(
        "/users",
        json={
            "email": "Alice@Example.com",
            "username": "alice",
            "password": "Secret-123",
            "first_name": "Alice",
            "locale": "fr",
        },
    )
    assert created.status_code == 201
    alice = created.json()
    assert alice["email"] == "alice@example.com"
    assert alice["last_picture_update"] == 0
    assert alice["create_at"] > 1_600_000_000_000  # milliseconds
    assert "password" not in alice

    duplicate = admin.post("/users", json={"email": "other@example.com", "username": "alice"})
    assert duplicate.status_code == 400
    assert duplicate.json()["id"] == "app.user.save.username_exists.app_error"

    assert admin.get("/users/email/alice@example.com").json()["id"] == alice["id"]
    assert admin.get("/users/username/alice").json()["id"] == alice["id"]
    assert admin.get("/users/email/nobody@example.com").status_code == 404
    by_ids = admin.post("/users/ids", json=[alice["id"], "x" * 26]).json()
    assert [u["id"] for u in by_ids] == [alice["id"]]
    assert admin.post("/users/usernames", json=["alice"]).json()[0]["id"] == alice["id"]

    patched = as_api(sandbox, alice["id"]).put(
        f"/users/{alice['id']}/patch", json={"position": "CFO", "nickname": "Al"}
    )
    assert patched.json()["position"] == "CFO"
    someone = sandbox.create_user("mallory")
    forbidden = as_api(sandbox, someone["id"]).put(
        f"/users/{alice['id']}/patch", json={"position": "intern"}
    )
    assert forbidden.status_code == 403


def test_profile_picture_sets_last_picture_update(sandbox: Sandbox) -> None:
    user = sandbox.create_user("pic")
    as_user(sandbox, user["id"]).set_profile_picture()
    assert sandbox.state.users[user["id"]]["last_picture_update"] > 0


def test_non_admin_gets_403_on_admin_endpoints(sandbox: Sandbox) -> None:
    user = sandbox.create_user("plain")
    api = as_api(sandbox, user["id"])
    assert api.get("/config").status_code == 403
    assert api.put("/config/patch", json={"TeamSettings": {"SiteName": "x"}}).status_code == 403
    assert api.post("/users", json={"email": "a@b.co", "username": "abc"}).status_code == 403
    assert (
        api.post(
            "/posts/ephemeral",
            json={"user_id": user["id"], "post": {"channel_id": "c" * 26, "message": "x"}},
        ).status_code
        == 403
    )
    sandbox.make_system_admin(user["id"])
    assert api.get("/config").status_code == 200
    log = sandbox.request_log
    assert log.count("GET", "/api/v4/config", user_id=user["id"]) == 2
    assert log.count("GET", "/api/v4/config", status=403) == 1
    assert log.writes() == 3
    assert all(entry.duration_ms >= 0 for entry in log)


def test_config_patch_and_plugin_settings(sandbox: Sandbox, admin: Api) -> None:
    config = admin.get("/config").json()
    assert config["TeamSettings"]["MaxUsersPerTeam"] == 50
    assert config["PluginSettings"]["Plugins"] == {}
    patched = admin.put(
        "/config/patch",
        json={
            "TeamSettings": {"SiteName": "Envol", "EnableCustomBrand": True},
            "PluginSettings": {"EnableUploads": True, "Plugins": {"com.envol": {"locale": "fr"}}},
        },
    ).json()
    assert patched["TeamSettings"]["SiteName"] == "Envol"
    assert patched["TeamSettings"]["MaxUsersPerTeam"] == 50
    assert patched["PluginSettings"]["Plugins"] == {"com.envol": {"locale": "fr"}}
    assert patched["PluginSettings"]["EnableUploads"] is False  # not settable through the API
    client = Api(sandbox, None).get("/config/client", params={"format": "old"}).json()
    assert client["SiteName"] == "Envol"
    assert client["EnableCustomBrand"] == "true"

    full = admin.get("/config").json()
    full["PluginSettings"]["Plugins"]["com.envol"] = {"locale": "en"}
    replaced = admin.put("/config", json=full).json()
    assert replaced["PluginSettings"]["Plugins"]["com.envol"] == {"locale": "en"}


def test_licence_and_limits(sandbox: Sandbox, admin: Api) -> None:
    assert admin.get("/license/client", params={"format": "old"}).json() == {"IsLicensed": "false"}
    limits = admin.get("/limits/server").json()
    # app/limits.go: maxUsersLimit = 5_000, maxUsersHardLimit = 11_000 on an unlicensed server.
    assert (limits["maxUsersLimit"], limits["maxUsersHardLimit"]) == (5000, 11000)
    assert limits["activeUserCount"] == 1
    sandbox.set_license(True)
    assert admin.get("/license/client", params={"format": "old"}).json()["IsLicensed"] == "true"
    assert admin.get("/users/me").headers["X-Version-Id"].endswith(".true")


def test_team_with_default_channels_members_and_icon(sandbox: Sandbox, admin: Api) -> None:
    created = admin.post("/teams", json={"name": "acme", "display_name": "Acme", "type": "O"})
    assert created.status_code == 201
    team = created.json()
    assert ID.match(team["invite_id"])
    assert admin.get("/teams/name/acme").json()["id"] == team["id"]
    town = admin.get(f"/teams/{team['id']}/channels/name/town-square").json()
    assert town["display_name"] == "Town Square"

    user = sandbox.create_user("bob")
    member = admin.post(
        f"/teams/{team['id']}/members", json={"team_id": team["id"], "user_id": user["id"]}
    )
    assert member.status_code == 201
    assert user["id"] in sandbox.channel_member_ids(town["id"])  # default channels joined
    members = admin.get(f"/teams/{team['id']}/members").json()
    assert {m["user_id"] for m in members} == {sandbox.admin_user_id, user["id"]}
    assert [t["id"] for t in admin.get(f"/users/{user['id']}/teams").json()] == [team["id"]]

    patched = admin.put(
        f"/teams/{team['id']}/patch",
        json={"display_name": "Acme Corp", "allowed_domains": "acme.com"},
    )
    assert patched.json()["allowed_domains"] == "acme.com"
    icon = admin.post(
        f"/teams/{team['id']}/image", files={"image": ("icon.png", b"\x89PNG....", "image/png")}
    )
    assert icon.status_code == 200
    assert admin.get(f"/teams/{team['id']}").json()["last_team_icon_update"] > 0


def test_team_members_are_paged_by_user_id_as_mattermost_does(sandbox: Sandbox, admin: Api) -> None:
    team = sandbox.create_team("paged", "Paged")
    for index in range(7):
        sandbox.add_team_member(team["id"], sandbox.create_user(f"member{index}")["id"])

    def page(number: int) -> list[str]:
        members = admin.get(
            f"/teams/{team['id']}/members", params={"page": number, "per_page": 3}
        ).json()
        return [m["user_id"] for m in members]

    everyone = sorted(sandbox.team_member_ids(team["id"]))
    assert page(0) + page(1) + page(2) == everyone  # ORDER BY UserId, as SqlTeamStore
    assert page(3) == []
    # Someone who joins between two reads is listed in their place from the next read on.
    late = sandbox.create_user("late")["id"]
    sandbox.add_team_member(team["id"], late)
    assert page(0) + page(1) + page(2) == sorted([*everyone, late])


def test_channels_archive_restore_and_members(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    created = admin.post(
        "/channels",
        json={"team_id": team["id"], "name": "wave-1", "display_name": "Wave 1", "type": "P"},
    )
    assert created.status_code == 201
    channel = created.json()
    clash = admin.post(
        "/channels",
        json={"team_id": team["id"], "name": "wave-1", "display_name": "Again", "type": "O"},
    )
    assert clash.status_code == 400
    users = [sandbox.create_user(f"member{i}") for i in range(3)]
    for user in users:
        sandbox.add_team_member(team["id"], user["id"])
    one = admin.post(f"/channels/{channel['id']}/members", json={"user_id": users[0]["id"]})
    assert one.status_code == 201
    assert one.json()["user_id"] == users[0]["id"]
    many = admin.post(
        f"/channels/{channel['id']}/members", json={"user_ids": [u["id"] for u in users]}
    )
    assert isinstance(many.json(), list) and len(many.json()) == 3
    listed = admin.get(f"/channels/{channel['id']}/members").json()
    assert len(listed) == 4

    assert (
        admin.put(f"/channels/{channel['id']}/patch", json={"purpose": "first wave"}).json()[
            "purpose"
        ]
        == "first wave"
    )
    assert admin.delete(f"/channels/{channel['id']}").status_code == 200
    path = f"/teams/{team['id']}/channels/name/wave-1"
    assert admin.get(path).status_code == 404
    assert admin.get(path, params={"include_deleted": "true"}).json()["delete_at"] > 0
    assert admin.post(f"/channels/{channel['id']}/restore").json()["delete_at"] == 0
    public = admin.get(f"/teams/{team['id']}/channels").json()
    assert {c["name"] for c in public} == {"town-square", "off-topic"}

    direct = admin.post("/channels/direct", json=[sandbox.admin_user_id, users[0]["id"]])
    assert direct.status_code == 201
    again = admin.post("/channels/direct", json=[users[0]["id"], sandbox.admin_user_id])
    assert again.json()["id"] == direct.json()["id"]
    assert direct.json()["type"] == "D"


def test_posts_threads_pins_edits_and_deletes(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    root = admin.post("/posts", json={"channel_id": town["id"], "message": "Welcome"}).json()
    reply = admin.post(
        "/posts", json={"channel_id": town["id"], "message": "Thanks", "root_id": root["id"]}
    ).json()
    thread = admin.get(f"/posts/{root['id']}/thread").json()
    assert thread["order"] == [root["id"], reply["id"]]
    assert thread["posts"][root["id"]]["reply_count"] == 1
    assert admin.post(f"/posts/{root['id']}/pin").status_code == 200
    assert admin.get(f"/posts/{root['id']}").json()["is_pinned"] is True
    admin.post(f"/posts/{root['id']}/unpin")
    edited = admin.put(f"/posts/{root['id']}/patch", json={"message": "Welcome!"}).json()
    assert edited["edit_at"] > 0
    full = admin.put(f"/posts/{reply['id']}", json={"id": reply["id"], "message": "Merci"})
    assert full.json()["message"] == "Merci"
    listed = admin.get(f"/channels/{town['id']}/posts").json()
    assert listed["order"] == [reply["id"], root["id"]]  # newest first
    since = admin.get(
        f"/channels/{town['id']}/posts", params={"since": edited["update_at"] - 1}
    ).json()
    assert root["id"] in since["order"]
    assert admin.delete(f"/posts/{root['id']}").status_code == 200
    assert admin.get(f"/posts/{reply['id']}").status_code == 404  # the thread goes too
    too_long = admin.post("/posts", json={"channel_id": town["id"], "message": "x" * 16384})
    assert too_long.status_code == 400


def test_non_member_cannot_post(sandbox: Sandbox, team: dict[str, Any]) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    outsider = sandbox.create_user("outsider")
    response = as_api(sandbox, outsider["id"]).post(
        "/posts", json={"channel_id": town["id"], "message": "hi"}
    )
    assert response.status_code == 403
    assert response.json()["id"] == "api.context.permissions.app_error"


def test_every_post_of_a_thread_counts_its_live_replies(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    root = admin.post("/posts", json={"channel_id": town["id"], "message": "Question"}).json()

    def reply(text: str) -> dict[str, Any]:
        body = {"channel_id": town["id"], "message": text, "root_id": root["id"]}
        return dict(admin.post("/posts", json=body).json())

    first, second = reply("one"), reply("two")
    assert admin.delete(f"/posts/{second['id']}").status_code == 200
    third = reply("three")  # counted when a reply is posted: the deleted one no longer counts

    counts = {
        pid: admin.get(f"/posts/{pid}").json()["reply_count"]
        for pid in (root["id"], first["id"], third["id"])
    }
    assert counts == {root["id"]: 2, first["id"]: 2, third["id"]: 2}
    other = admin.post("/posts", json={"channel_id": town["id"], "message": "Alone"}).json()
    assert admin.get(f"/posts/{other['id']}").json()["reply_count"] == 0


def test_a_reaction_is_kept_once_per_person_post_and_emoji(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    post = admin.post("/posts", json={"channel_id": town["id"], "message": "Hello"}).json()
    body = {"user_id": sandbox.admin_user_id, "post_id": post["id"], "emoji_name": "tada"}

    first = admin.post("/reactions", json=body).json()
    again = admin.post("/reactions", json=body).json()
    admin.post("/reactions", json={**body, "emoji_name": "heart"})

    assert again["create_at"] == first["create_at"]
    listed = admin.get(f"/posts/{post['id']}/reactions").json()
    assert [r["emoji_name"] for r in listed] == ["tada", "heart"]
    admin.delete(f"/users/{sandbox.admin_user_id}/posts/{post['id']}/reactions/tada")
    assert admin.get(f"/posts/{post['id']}").json()["has_reactions"] is True  # heart remains
    admin.delete(f"/users/{sandbox.admin_user_id}/posts/{post['id']}/reactions/heart")
    assert admin.get(f"/posts/{post['id']}").json()["has_reactions"] is False


def test_files_reactions_and_ephemeral(sandbox: Sandbox, admin: Api, team: dict[str, Any]) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    uploaded = admin.post(
        "/files",
        data={"channel_id": town["id"]},
        files={"files": ("guide.pdf", b"%PDF-1.4 guide", "application/pdf")},
    )
    assert uploaded.status_code == 201
    info = uploaded.json()["file_infos"][0]
    assert info["size"] == len(b"%PDF-1.4 guide")
    assert admin.get(f"/files/{info['id']}/info").json()["name"] == "guide.pdf"
    post = admin.post(
        "/posts", json={"channel_id": town["id"], "message": "the guide", "file_ids": [info["id"]]}
    ).json()
    assert post["file_ids"] == [info["id"]]

    reaction = admin.post(
        "/reactions",
        json={"user_id": sandbox.admin_user_id, "post_id": post["id"], "emoji_name": "tada"},
    )
    assert reaction.status_code == 201
    assert [r["emoji_name"] for r in admin.get(f"/posts/{post['id']}/reactions").json()] == ["tada"]
    removed = admin.delete(f"/users/{sandbox.admin_user_id}/posts/{post['id']}/reactions/tada")
    assert removed.status_code == 200
    assert admin.get(f"/posts/{post['id']}/reactions").json() == []

    user = sandbox.create_user("eph")
    sandbox.add_team_member(team["id"], user["id"])
    ephemeral = admin.post(
        "/posts/ephemeral",
        json={"user_id": user["id"], "post": {"channel_id": town["id"], "message": "psst"}},
    )
    assert ephemeral.status_code == 201
    assert [p["message"] for p in sandbox.ephemeral_for(user["id"])] == ["psst"]
    assert all(p["message"] != "psst" for p in sandbox.posts_in(town["id"]))

    sandbox.patch_config({"FileSettings": {"EnableFileAttachments": False}})
    disabled = admin.post(
        "/files", data={"channel_id": town["id"]}, files={"files": ("a.txt", b"a", "text/plain")}
    )
    assert disabled.status_code == 501


def test_preferences_brand_and_statuses(sandbox: Sandbox, admin: Api) -> None:
    user = sandbox.create_user("pref")
    api = as_api(sandbox, user["id"])
    theme = {"user_id": user["id"], "category": "theme", "name": "", "value": '{"a":"#fff"}'}
    assert api.put(f"/users/{user['id']}/preferences", json=[theme]).status_code == 200
    assert api.get(f"/users/{user['id']}/preferences").json() == [theme]
    assert admin.get("/brand/image").status_code == 404
    assert (
        admin.post("/brand/image", files={"image": ("b.png", b"PNGDATA", "image/png")}).status_code
        == 201
    )
    assert admin.get("/brand/image").content == b"PNGDATA"

    statuses = admin.post("/users/status/ids", json=[user["id"], sandbox.admin_user_id]).json()
    by_user = {s["user_id"]: s["status"] for s in statuses}
    assert by_user[user["id"]] == "online"  # it just made requests
    assert by_user[sandbox.admin_user_id] == "online"
    idle = sandbox.create_user("idle")
    sandbox.set_status(user["id"], "dnd")
    statuses = admin.post("/users/status/ids", json=[user["id"], idle["id"]]).json()
    assert {s["user_id"]: s["status"] for s in statuses} == {
        user["id"]: "dnd",
        idle["id"]: "offline",
    }


def test_bots_need_the_setting_and_an_admin(sandbox: Sandbox, admin: Api) -> None:
    body = {"username": "envol", "display_name": "Envol"}
    assert admin.post("/bots", json=body).status_code == 403
    admin.put(
        "/config/patch",
        json={
            "ServiceSettings": {"EnableBotAccountCreation": True, "EnableUserAccessTokens": True}
        },
    )
    created = admin.post("/bots", json=body)
    assert created.status_code == 201
    bot = created.json()
    assert admin.get(f"/bots/{bot['user_id']}").json()["username"] == "envol"
    assert [b["user_id"] for b in admin.get("/bots").json()] == [bot["user_id"]]
    assert admin.get(f"/users/{bot['user_id']}").json()["is_bot"] is True
    token = admin.post(f"/users/{bot['user_id']}/tokens", json={"description": "envol"})
    assert Api(sandbox, token.json()["token"]).get("/users/me").json()["id"] == bot["user_id"]


def test_sidebar_categories_per_user(sandbox: Sandbox, team: dict[str, Any]) -> None:
    user = sandbox.create_user("cat")
    other = sandbox.create_user("dog")
    for someone in (user, other):
        sandbox.add_team_member(team["id"], someone["id"])
    town = sandbox.channel_by_name(team["id"], "town-square")
    api = as_api(sandbox, user["id"])
    base = f"/users/{user['id']}/teams/{team['id']}/channels/categories"
    initial = api.get(base).json()
    assert [c["type"] for c in initial["categories"]] == [
        "favorites",
        "channels",
        "direct_messages",
    ]
    created = api.post(
        base,
        json={
            "user_id": user["id"],
            "team_id": team["id"],
            "display_name": "Onboarding",
            "type": "custom",
            "channel_ids": [town["id"]],
        },
    )
    assert created.status_code == 200
    category = created.json()
    after = api.get(base).json()["categories"]
    channels = next(c for c in after if c["type"] == "channels")
    assert town["id"] not in channels["channel_ids"]

    mismatched = api.post(
        base,
        json={"user_id": other["id"], "team_id": team["id"], "display_name": "X", "type": "custom"},
    )
    assert mismatched.status_code == 400
    intruder = as_api(sandbox, other["id"]).get(base)
    assert intruder.status_code == 403
    renamed = api.put(f"{base}/{category['id']}", json={**category, "display_name": "Start here"})
    assert renamed.json()["display_name"] == "Start here"
    not_member = sandbox.create_channel(team["id"], "secret", type="P")
    bad = api.put(f"{base}/{category['id']}", json={**category, "channel_ids": [not_member["id"]]})
    assert bad.status_code == 400


def test_bookmarks_need_a_licence(sandbox: Sandbox, admin: Api, team: dict[str, Any]) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    sandbox.add_channel_member(town["id"], sandbox.admin_user_id)
    base = f"/channels/{town['id']}/bookmarks"
    body = {"display_name": "Handbook", "type": "link", "link_url": "https://example.com/h"}
    refused = admin.post(base, json=body)
    assert refused.status_code == 403
    assert refused.json()["id"] == "api.channel.bookmark.channel_bookmark.license.error"
    sandbox.set_license(True)
    created = admin.post(base, json=body)
    assert created.status_code == 201
    bookmark = created.json()
    patched = admin.patch(f"{base}/{bookmark['id']}", json={"display_name": "Guide"})
    assert patched.json()["updated"]["display_name"] == "Guide"
    assert [b["display_name"] for b in admin.get(base).json()] == ["Guide"]


def test_invite_acceptance_creates_and_joins(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    sent = admin.post(f"/teams/{team['id']}/invite/email", json=["new.hire@example.com"])
    assert sent.json() == {"status": "OK"}
    assert [i["email"] for i in sandbox.state.sent_invites] == ["new.hire@example.com"]
    person = accept_invite(sandbox, email="new.hire@example.com", first_name="New")
    assert person.user_id in sandbox.team_member_ids(team["id"])
    info = Api(sandbox, None).get(f"/teams/invite/{team['invite_id']}")
    assert info.json()["name"] == "acme"
    walk_in = accept_invite(sandbox, email="walk.in@example.com", invite_id=team["invite_id"])
    assert walk_in.user_id in sandbox.team_member_ids(team["id"])


def test_users_listing_filters_and_status(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    inside = [sandbox.create_user(f"inside{i}") for i in range(3)]
    sandbox.create_user("outside")
    for user in inside:
        sandbox.add_team_member(team["id"], user["id"])
    listed = admin.get("/users", params={"in_team": team["id"], "active": "true"}).json()
    assert {u["username"] for u in listed} == {"inside0", "inside1", "inside2", "sysadmin"}
    town = sandbox.channel_by_name(team["id"], "town-square")
    in_channel = admin.get("/users", params={"in_channel": town["id"]}).json()
    assert len(in_channel) == 4
