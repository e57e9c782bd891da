"""Pinned posts, archived channels and removing a channel member, over plain HTTP."""

from __future__ import annotations

from typing import Any

from plugin.sandbox import Sandbox
from tests.sandbox.conftest import Api, as_api


def _post(api: Api, channel_id: str, message: str) -> dict[str, Any]:
    response = api.post("/posts", json={"channel_id": channel_id, "message": message})
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


def test_pinned_posts_are_the_live_pinned_ones_oldest_first(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    path = f"/channels/{town['id']}/pinned"
    assert admin.get(path).json()["order"] == []

    first, second, unpinned, deleted = (
        _post(admin, town["id"], text) for text in ("first", "second", "unpinned", "deleted")
    )
    for post in (second, first, unpinned, deleted):  # pinning order does not matter
        assert admin.post(f"/posts/{post['id']}/pin").status_code == 200
    admin.post(f"/posts/{unpinned['id']}/unpin")
    admin.delete(f"/posts/{deleted['id']}")

    pinned = admin.get(path)
    assert pinned.status_code == 200
    body = pinned.json()
    assert body["order"] == [first["id"], second["id"]]
    assert set(body["posts"]) == {first["id"], second["id"]}
    assert body["posts"][first["id"]]["is_pinned"] is True

    # A public channel is readable by the team's members, and by nobody outside the team.
    teammate = sandbox.create_user("teammate")
    sandbox.add_team_member(team["id"], teammate["id"])
    assert as_api(sandbox, teammate["id"]).get(path).json()["order"] == body["order"]
    outsider = sandbox.create_user("outsider")
    refused = as_api(sandbox, outsider["id"]).get(path)
    assert refused.status_code == 403
    assert refused.json()["id"] == "api.context.permissions.app_error"

    secret = sandbox.create_channel(team["id"], "secret", "Secret", "P", sandbox.admin_user_id)
    hidden = as_api(sandbox, teammate["id"]).get(f"/channels/{secret['id']}/pinned")
    assert hidden.status_code == 403
    missing = admin.get(f"/channels/{'c' * 26}/pinned")
    assert missing.status_code == 404
    assert missing.json()["id"] == "app.channel.get.existing.app_error"


def test_a_member_is_removed_from_a_channel_and_its_sidebar(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    # detailed_error names the missing permission only in developer mode (WipeDetailed).
    sandbox.patch_config({"ServiceSettings": {"EnableDeveloper": True}})
    channel = sandbox.create_channel(team["id"], "wave-1")
    camille, jo, other = (sandbox.create_user(name) for name in ("camille", "jo.dupont", "other"))
    for user in (camille, jo, other):
        sandbox.add_team_member(team["id"], user["id"])
    for user in (camille, jo):
        sandbox.add_channel_member(channel["id"], user["id"])
    as_camille = as_api(sandbox, camille["id"])

    # Not a member of the channel: cannot remove anyone from it.
    refused = as_api(sandbox, other["id"]).delete(f"/channels/{channel['id']}/members/{jo['id']}")
    assert refused.status_code == 403
    assert "manage_public_channel_members" in refused.json()["detailed_error"]

    removed = as_camille.delete(f"/channels/{channel['id']}/members/{jo['id']}")
    assert removed.status_code == 200
    assert removed.json() == {"status": "OK"}
    assert jo["id"] not in sandbox.channel_member_ids(channel["id"])
    categories = as_api(sandbox, jo["id"]).get(
        f"/users/{jo['id']}/teams/{team['id']}/channels/categories"
    )
    assert all(channel["id"] not in c["channel_ids"] for c in categories.json()["categories"])

    again = as_camille.delete(f"/channels/{channel['id']}/members/{jo['id']}")
    assert again.status_code == 404
    assert again.json()["id"] == "app.channel.get_member.missing.app_error"

    # Leaving needs no permission; `me` names the caller.
    assert as_camille.delete(f"/channels/{channel['id']}/members/me").status_code == 200
    assert camille["id"] not in sandbox.channel_member_ids(channel["id"])

    unknown_user = admin.delete(f"/channels/{channel['id']}/members/{'u' * 26}")
    assert unknown_user.status_code == 404
    assert admin.delete(f"/channels/{'c' * 26}/members/{jo['id']}").status_code == 404


def test_nobody_is_removed_from_town_square_or_a_direct_channel(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    user = sandbox.create_user("camille")
    sandbox.add_team_member(team["id"], user["id"])
    town = sandbox.channel_by_name(team["id"], "town-square")
    refused = admin.delete(f"/channels/{town['id']}/members/{user['id']}")
    assert refused.status_code == 400
    assert refused.json()["id"] == "api.channel.remove.default.app_error"
    assert user["id"] in sandbox.channel_member_ids(town["id"])
    off_topic = sandbox.channel_by_name(team["id"], "off-topic")
    assert admin.delete(f"/channels/{off_topic['id']}/members/{user['id']}").status_code == 200

    direct = admin.post("/channels/direct", json=[sandbox.admin_user_id, user["id"]]).json()
    dm = admin.delete(f"/channels/{direct['id']}/members/{user['id']}")
    assert dm.status_code == 400
    assert dm.json()["id"] == "api.channel.remove_channel_member.type.app_error"


def test_private_channel_members_are_removed_by_members_only(
    sandbox: Sandbox, team: dict[str, Any]
) -> None:
    sandbox.patch_config({"ServiceSettings": {"EnableDeveloper": True}})  # see detailed_error
    owner, invitee, stranger = (
        sandbox.create_user(name) for name in ("owner", "invitee", "stranger")
    )
    for user in (owner, invitee, stranger):
        sandbox.add_team_member(team["id"], user["id"])
    secret = sandbox.create_channel(team["id"], "secret", type="P", creator_id=owner["id"])
    sandbox.add_channel_member(secret["id"], invitee["id"])
    path = f"/channels/{secret['id']}/members/{invitee['id']}"
    refused = as_api(sandbox, stranger["id"]).delete(path)
    assert refused.status_code == 403
    assert "manage_private_channel_members" in refused.json()["detailed_error"]
    assert as_api(sandbox, owner["id"]).delete(path).status_code == 200
    assert sandbox.channel_member_ids(secret["id"]) == {owner["id"]}


def test_archived_channels_of_a_team_as_each_caller_sees_them(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    member = sandbox.create_user("member")
    sandbox.add_team_member(team["id"], member["id"])
    path = f"/teams/{team['id']}/channels/deleted"
    assert admin.get(path).json() == []

    created = {}
    for name, display, kind, creator in (
        ("zeta", "Zeta", "O", ""),
        ("alpha", "alpha", "O", ""),
        ("ours", "Ours", "P", sandbox.admin_user_id),
        ("theirs", "Theirs", "P", ""),
        ("live", "Live", "O", ""),
    ):
        created[name] = sandbox.create_channel(team["id"], name, display, kind, creator)
    other_team = sandbox.create_team("other", admin_id=sandbox.admin_user_id)
    created["elsewhere"] = sandbox.create_channel(other_team["id"], "elsewhere")
    for name in ("zeta", "alpha", "ours", "theirs", "elsewhere"):
        assert admin.delete(f"/channels/{created[name]['id']}").status_code == 200

    # Public archived ones for everyone, private ones only for their members; by display name.
    as_admin = admin.get(path)
    assert as_admin.status_code == 200
    assert [c["name"] for c in as_admin.json()] == ["alpha", "ours", "zeta"]
    assert all(c["delete_at"] > 0 for c in as_admin.json())
    as_member = as_api(sandbox, member["id"]).get(path).json()
    assert [c["name"] for c in as_member] == ["alpha", "zeta"]

    second = admin.get(path, params={"page": 1, "per_page": 1}).json()
    assert [c["name"] for c in second] == ["ours"]
    assert admin.get(path, params={"page": 3, "per_page": 1}).json() == []
    # The live list is unchanged: archived channels stay out of it.
    live = {c["name"] for c in admin.get(f"/teams/{team['id']}/channels").json()}
    assert live == {"town-square", "off-topic", "live"}


def test_private_channels_of_a_team_are_listed_for_a_system_admin_only(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    member = sandbox.create_user("member")
    sandbox.add_team_member(team["id"], member["id"])
    path = f"/teams/{team['id']}/channels/private"
    for name, display, kind in (
        ("zeta", "Zeta", "P"),
        ("alpha", "alpha", "P"),
        ("gone", "Gone", "P"),
        ("open", "Open", "O"),
    ):
        sandbox.create_channel(team["id"], name, display, kind, member["id"])
    gone = sandbox.channel_by_name(team["id"], "gone")
    assert admin.delete(f"/channels/{gone['id']}").status_code == 200
    other_team = sandbox.create_team("other", admin_id=sandbox.admin_user_id)
    sandbox.create_channel(other_team["id"], "elsewhere", type="P")

    # Live private channels of this team only, by display name, whether the admin is in them.
    listed = admin.get(path)
    assert listed.status_code == 200
    assert [c["name"] for c in listed.json()] == ["alpha", "zeta"]
    assert [c["name"] for c in admin.get(path, params={"page": 1, "per_page": 1}).json()] == [
        "zeta"
    ]
    refused = as_api(sandbox, member["id"]).get(path)
    assert refused.status_code == 403
    assert refused.json()["id"] == "api.context.permissions.app_error"
