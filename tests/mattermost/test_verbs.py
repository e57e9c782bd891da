"""Each verb sends the request Mattermost expects and returns what it answers (recorded bodies)."""

from __future__ import annotations

import json

import pytest
import responses
from responses import matchers

from plugin.mattermost import FeatureNeedsLicense, InviteResult, MattermostClient, NotFound
from plugin.settings import load_deploy_settings
from tests.mattermost.conftest import API, BASE, TOKEN, payload

TEAM = payload("team")
CHANNEL = payload("channel")
USER = payload("user")
POST = payload("post")
ME = payload("users_me")
BOT = payload("bot")


def _body(call: responses.Call) -> bytes:
    body = call.request.body
    return body.encode() if isinstance(body, str) else body or b""


def test_from_settings_uses_the_deploy_url_and_token(rsps: responses.RequestsMock) -> None:
    settings = load_deploy_settings(mattermost_url=BASE, mattermost_token=TOKEN)
    rsps.get(
        f"{API}/system/ping",
        json=payload("ping"),
        match=[matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})],
    )
    with MattermostClient.from_settings(settings) as client:
        assert client.ping()["status"] == "OK"
        assert client.url == BASE


def test_system_verbs(rsps: responses.RequestsMock, mm: MattermostClient) -> None:
    old = matchers.query_param_matcher({"format": "old"})
    rsps.get(f"{API}/config/client", json=payload("client_config"), match=[old])
    rsps.get(f"{API}/license/client", json=payload("license_client_unlicensed"), match=[old])
    rsps.get(f"{API}/license/client", json=payload("license_client_licensed"), match=[old])
    rsps.get(f"{API}/limits/server", json=payload("limits_server"))
    rsps.get(f"{API}/limits/server", status=404, json=payload("error_not_found"))
    assert mm.server_version() == "9.11.1"
    assert mm.is_licensed() is False
    assert mm.get_license()["SkuShortName"] == "professional"
    limits = mm.get_server_limits()
    assert limits is not None and limits.max_users_hard_limit == 11000
    assert mm.get_server_limits() is None  # an older server without the endpoint


def test_config_verbs(rsps: responses.RequestsMock, mm: MattermostClient) -> None:
    patch = {"TeamSettings": {"MaxUsersPerTeam": 2000}}
    rsps.put(
        f"{API}/config/patch", json=payload("config"), match=[matchers.json_params_matcher(patch)]
    )
    rsps.get(f"{API}/config", json=payload("config"))
    full = payload("config")
    rsps.put(f"{API}/config", json=full, match=[matchers.json_params_matcher(full)])
    brand = {
        "TeamSettings": {
            "EnableCustomBrand": True,
            "SiteName": "Acme",
            "CustomBrandText": "Bienvenue",
        }
    }
    rsps.put(
        f"{API}/config/patch", json=payload("config"), match=[matchers.json_params_matcher(brand)]
    )
    mm.patch_config(patch)
    assert mm.get_plugin_settings("fr.envol.launch") == {
        "bot_username": "envol",
        "teamname": "acme",
    }
    mm.update_config(full)
    mm.set_custom_brand(site_name="Acme", brand_text="Bienvenue")


def test_user_verbs(rsps: responses.RequestsMock, mm: MattermostClient) -> None:
    rsps.get(f"{API}/users/me", json=ME)
    rsps.get(f"{API}/users/{USER['id']}", json=USER)
    rsps.post(
        f"{API}/users/usernames",
        json=[USER],
        match=[matchers.json_params_matcher(["camille.martin", "ghost"])],
    )
    rsps.get(f"{API}/users/email/camille.martin@example.com", json=USER)
    rsps.get(f"{API}/users/email/ghost@example.com", status=404, json=payload("error_not_found"))
    new = {"email": "jo@example.com", "username": "jo", "password": "Passw0rd!x", "locale": "en"}
    rsps.post(f"{API}/users", status=201, json=USER, match=[matchers.json_params_matcher(new)])
    rsps.put(
        f"{API}/users/{USER['id']}/patch",
        json={**USER, "position": "DAF"},
        match=[matchers.json_params_matcher({"position": "DAF"})],
    )
    rsps.post(
        f"{API}/users/status/ids",
        json=payload("status_ids"),
        match=[matchers.json_params_matcher([USER["id"]])],
    )
    rsps.post(
        f"{API}/users/{BOT['user_id']}/tokens",
        status=201,
        json={"id": "tokid", "token": "xyz", "user_id": BOT["user_id"], "description": "envol"},
        match=[matchers.json_params_matcher({"description": "envol"})],
    )
    assert mm.get_me()["id"] == ME["id"]
    assert mm.get_me()["id"] == ME["id"]  # cached: one request
    assert mm.get_user(USER["id"])["position"] == "Comptable"
    assert len(mm.get_users_by_usernames(["camille.martin", "ghost"])) == 1
    found = mm.get_users_by_emails(["Camille.Martin@example.com ", "ghost@example.com"])
    assert [u["id"] for u in found] == [USER["id"]]
    mm.create_user("jo@example.com", "jo", password="Passw0rd!x", locale="en")
    assert mm.patch_user(USER["id"], {"position": "DAF"})["position"] == "DAF"
    assert mm.get_statuses([USER["id"], USER["id"]])[0]["status"] == "online"
    assert mm.create_user_access_token(BOT["user_id"], "envol")["token"] == "xyz"


def test_bot_verbs(rsps: responses.RequestsMock, mm: MattermostClient) -> None:
    rsps.get(f"{API}/users/username/envol", json=payload("user_bot"))
    rsps.get(
        f"{API}/bots/{BOT['user_id']}",
        json=BOT,
        match=[matchers.query_param_matcher({"include_deleted": "true"})],
    )
    rsps.get(f"{API}/users/username/camille.martin", json=USER)
    rsps.get(f"{API}/users/username/nobody", status=404, json=payload("error_not_found"))
    body = {"username": "envol", "display_name": "Envol", "description": "Launch assistant"}
    rsps.post(f"{API}/bots", status=201, json=BOT, match=[matchers.json_params_matcher(body)])
    assert mm.find_bot("envol") == BOT
    assert mm.find_bot("camille.martin") is None  # a person, not a bot
    assert mm.find_bot("nobody") is None
    assert mm.create_bot("envol", "Envol", "Launch assistant")["user_id"] == BOT["user_id"]


def test_team_verbs(rsps: responses.RequestsMock, mm: MattermostClient) -> None:
    rsps.get(f"{API}/teams/name/acme", json=TEAM)
    body = {"name": "acme", "display_name": "Acme", "type": "I"}
    rsps.post(f"{API}/teams", status=201, json=TEAM, match=[matchers.json_params_matcher(body)])
    rsps.put(
        f"{API}/teams/{TEAM['id']}/patch",
        json={**TEAM, "description": "Le réseau"},
        match=[matchers.json_params_matcher({"description": "Le réseau"})],
    )
    rsps.post(f"{API}/teams/{TEAM['id']}/image", json=payload("status_ok"))
    rsps.get(f"{API}/teams/{TEAM['id']}/members", json=payload("team_members_page"))
    rsps.get(f"{API}/config/client", json=payload("client_config"))
    assert mm.get_team_by_name("acme")["invite_id"]
    mm.create_team("acme", "Acme")
    mm.patch_team(TEAM["id"], {"description": "Le réseau"})
    mm.set_team_icon(TEAM["id"], b"\x89PNG icon")
    assert b'name="image"; filename="icon.png"' in _body(rsps.calls[3])
    assert len(list(mm.iter_team_members(TEAM["id"]))) == 2
    assert (
        mm.team_invite_link(TEAM)
        == "https://chat.example.com/signup_user_complete/?id=m1w6a8h3nbrqfeo4tpxs5ikuyh"
    )


def test_invites_send_the_object_form_gracefully(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    body = {
        "emails": ["camille.martin@example.com", "nobody@elsewhere.org"],
        "channel_ids": [CHANNEL["id"]],
        "message": "Bienvenue",
    }
    rsps.post(
        f"{API}/teams/{TEAM['id']}/invite/email",
        json=payload("invite_email_graceful"),
        match=[
            matchers.json_params_matcher(body),
            matchers.query_param_matcher({"graceful": "true"}),
        ],
    )
    results = mm.invite_by_email(
        TEAM["id"],
        ["Camille.Martin@example.com", "nobody@elsewhere.org"],
        channel_ids=[CHANNEL["id"]],
        message="Bienvenue",
    )
    assert results[0] == InviteResult(email="camille.martin@example.com", sent=True)
    assert not results[1].sent
    assert results[1].error_id == "api.team.invite_members.invalid_email.app_error"


def test_invites_fall_back_to_the_array_form_on_older_servers(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    path = f"{API}/teams/{TEAM['id']}/invite/email"
    rsps.post(path, status=400, json=payload("error_invalid_body"))
    rsps.post(
        path,
        json=payload("status_ok"),
        match=[matchers.json_params_matcher(["camille.martin@example.com"])],
    )
    rsps.post(
        path,
        json=payload("status_ok"),
        match=[matchers.json_params_matcher(["jo.dupont@example.com"])],
    )
    assert mm.invite_by_email(TEAM["id"], ["camille.martin@example.com"])[0].sent
    assert mm.invite_by_email(TEAM["id"], ["jo.dupont@example.com"])[0].sent  # remembered
    assert len(rsps.calls) == 3


def test_the_email_rate_limit_is_not_mistaken_for_an_old_server(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    from plugin.mattermost import Invalid

    rsps.post(
        f"{API}/teams/{TEAM['id']}/invite/email", status=413, json=payload("error_email_rate")
    )
    with pytest.raises(Invalid) as caught:
        mm.invite_by_email(TEAM["id"], [f"p{i}@example.com" for i in range(21)])
    assert caught.value.error_id == "app.email.rate_limit_exceeded.app_error"


def test_channel_verbs(rsps: responses.RequestsMock, mm: MattermostClient) -> None:
    cid, tid = CHANNEL["id"], TEAM["id"]
    rsps.get(
        f"{API}/teams/{tid}/channels/name/entraide",
        json=CHANNEL,
        match=[matchers.query_param_matcher({"include_deleted": "true"})],
    )
    body = {
        "team_id": tid,
        "name": "entraide",
        "display_name": "Entraide",
        "type": "O",
        "purpose": "Questions et réponses",
        "header": "",
    }
    rsps.post(
        f"{API}/channels", status=201, json=CHANNEL, match=[matchers.json_params_matcher(body)]
    )
    rsps.put(
        f"{API}/channels/{cid}/patch",
        json=CHANNEL,
        match=[matchers.json_params_matcher({"header": "Bienvenue"})],
    )
    rsps.delete(f"{API}/channels/{cid}", json=payload("status_ok"))
    rsps.post(f"{API}/channels/{cid}/restore", json=CHANNEL)
    rsps.get(f"{API}/teams/{tid}/channels", json=[CHANNEL])
    rsps.get(f"{API}/teams/{tid}/channels/deleted", json=[])
    rsps.get(f"{API}/channels/{cid}/members", json=payload("channel_members_page"))
    rsps.delete(f"{API}/channels/{cid}/members/{USER['id']}", json=payload("status_ok"))
    assert mm.get_channel_by_name(tid, "entraide", include_deleted=True)["id"] == cid
    mm.create_channel(tid, "entraide", "Entraide", purpose="Questions et réponses")
    mm.patch_channel(cid, {"header": "Bienvenue"})
    mm.delete_channel(cid)
    mm.restore_channel(cid)
    assert [c["name"] for c in mm.list_team_channels(tid, include_deleted=True)] == ["entraide"]
    assert len(list(mm.iter_channel_members(cid))) == 2
    mm.remove_channel_member(cid, USER["id"])


def test_direct_messages_reuse_the_channel(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    dm = payload("dm_channel")
    rsps.get(f"{API}/users/me", json=ME)
    rsps.post(
        f"{API}/channels/direct",
        status=201,
        json=dm,
        match=[matchers.json_params_matcher([ME["id"], USER["id"]])],
    )
    for text in ("Bonjour", "Rebonjour"):
        rsps.post(
            f"{API}/posts",
            status=201,
            json={**POST, "channel_id": dm["id"], "message": text},
            match=[
                matchers.json_params_matcher(
                    {"channel_id": dm["id"], "message": text, "props": {"kind": "welcome"}}
                )
            ],
        )
    mm.send_direct_message(USER["id"], "Bonjour", {"kind": "welcome"})
    mm.send_direct_message(USER["id"], "Rebonjour", {"kind": "welcome"})
    assert len(rsps.calls) == 4  # me, direct, post, post


def test_post_verbs(rsps: responses.RequestsMock, mm: MattermostClient) -> None:
    pid, cid = POST["id"], CHANNEL["id"]
    body = {
        "channel_id": cid,
        "message": "Réponse",
        "root_id": pid,
        "file_ids": ["f1"],
        "props": {"attachments": [{"text": "Sondage"}]},
    }
    rsps.post(f"{API}/posts", status=201, json=POST, match=[matchers.json_params_matcher(body)])
    rsps.get(f"{API}/posts/{pid}", json=POST)
    rsps.get(f"{API}/posts/{pid}", json=payload("post_deleted"))
    message = "Bienvenue à toutes et à tous !"
    patch = {"message": message, "props": {"poll": "closed"}}
    rsps.put(
        f"{API}/posts/{pid}/patch",
        json=payload("post_patched"),
        match=[matchers.json_params_matcher(patch)],
    )
    rsps.get(
        f"{API}/channels/{cid}/posts",
        json=payload("post_list_since"),
        match=[matchers.query_param_matcher({"since": "1764100000000"})],
    )
    rsps.get(f"{API}/posts/{pid}/thread", json=payload("thread"))
    rsps.post(f"{API}/posts/{pid}/pin", json=payload("status_ok"))
    rsps.post(f"{API}/posts/{pid}/unpin", json=payload("status_ok"))
    rsps.get(f"{API}/channels/{cid}/pinned", json=payload("thread"))
    rsps.delete(f"{API}/posts/{pid}", json=payload("status_ok"))
    ephemeral = {"user_id": USER["id"], "post": {"channel_id": cid, "message": "Psst"}}
    rsps.post(
        f"{API}/posts/ephemeral",
        status=201,
        json=payload("ephemeral_post"),
        match=[matchers.json_params_matcher(ephemeral)],
    )
    mm.create_post(
        cid,
        "Réponse",
        root_id=pid,
        file_ids=["f1"],
        props={"attachments": [{"text": "Sondage"}]},
    )
    assert mm.get_post(pid) == POST
    assert mm.get_post(pid) is None  # deleted
    assert mm.update_post(pid, message=message, props={"poll": "closed"})["edit_at"]
    since = [p["message"] for p in mm.iter_channel_posts(cid, since=1764100000000)]
    assert since == ["Bienvenue !", "Merci"]  # oldest first
    assert [p["message"] for p in mm.get_thread(pid)] == ["Bienvenue !", "Merci"]
    mm.pin_post(pid)
    mm.unpin_post(pid)
    assert len(mm.get_pinned_posts(cid)) == 2
    mm.delete_post(pid)
    mm.create_ephemeral_post(USER["id"], cid, "Psst")


def test_channel_posts_without_since_walk_pages_oldest_first(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    cid = CHANNEL["id"]
    newest = {
        "order": [f"n{i}" for i in range(200)],
        "posts": {f"n{i}": {**POST, "id": f"n{i}", "create_at": 2000 - i} for i in range(200)},
    }
    oldest = {"order": ["o0"], "posts": {"o0": {**POST, "id": "o0", "create_at": 1}}}
    rsps.get(
        f"{API}/channels/{cid}/posts",
        json=newest,
        match=[matchers.query_param_matcher({"page": "0", "per_page": "200"})],
    )
    rsps.get(
        f"{API}/channels/{cid}/posts",
        json=oldest,
        match=[matchers.query_param_matcher({"page": "1", "per_page": "200"})],
    )
    posts = list(mm.iter_channel_posts(cid))
    assert posts[0]["id"] == "o0" and posts[-1]["id"] == "n0" and len(posts) == 201


def test_file_reaction_and_preference_verbs(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    rsps.post(f"{API}/files", status=201, json=payload("file_upload"))
    rsps.get(f"{API}/users/me", json=ME)
    reaction = {"user_id": ME["id"], "post_id": POST["id"], "emoji_name": "tada"}
    rsps.post(
        f"{API}/reactions",
        status=201,
        json=payload("reaction"),
        match=[matchers.json_params_matcher(reaction)],
    )
    rsps.get(f"{API}/posts/{POST['id']}/reactions", json=payload("reactions"))
    rsps.get(f"{API}/users/{USER['id']}/preferences", json=payload("preferences"))
    theme = {"sidebarBg": "#1e325c", "type": "Envol"}
    saved = [
        {
            "user_id": USER["id"],
            "category": "theme",
            "name": "",
            "value": json.dumps(theme, separators=(",", ":")),
        }
    ]
    rsps.put(
        f"{API}/users/{USER['id']}/preferences",
        json=payload("status_ok"),
        match=[matchers.json_params_matcher(saved)],
    )
    rsps.post(f"{API}/brand/image", status=201, json=payload("status_ok"))
    info = mm.upload_file(CHANNEL["id"], b"%PDF-1.4 ...", "guide.pdf", "application/pdf")
    assert info["id"] == "f1i2l3e4i5n6f7o8a9b0c1d2ea"
    upload = _body(rsps.calls[0])
    assert b'name="files"; filename="guide.pdf"' in upload and CHANNEL["id"].encode() in upload
    mm.add_reaction(POST["id"], "tada")
    assert mm.list_reactions(POST["id"])[0]["emoji_name"] == "tada"
    assert mm.get_theme(USER["id"])["buttonBg"] == "#e8563f"  # type: ignore[index]
    mm.set_theme(USER["id"], theme)
    mm.upload_brand_image(b"\x89PNG brand")
    assert b'name="image"; filename="brand.png"' in _body(rsps.calls[-1])


def test_sidebar_category_verbs(rsps: responses.RequestsMock, mm: MattermostClient) -> None:
    uid, tid, cid = USER["id"], TEAM["id"], CHANNEL["id"]
    base = f"{API}/users/{uid}/teams/{tid}/channels/categories"
    category = payload("sidebar_category")
    rsps.get(base, json=payload("sidebar_categories"))
    body = {
        "user_id": uid,
        "team_id": tid,
        "display_name": "Lancement",
        "type": "custom",
        "channel_ids": [cid],
    }
    rsps.post(base, json=category, match=[matchers.json_params_matcher(body)])
    renamed = {**category, "display_name": "Le lancement"}
    rsps.put(
        f"{base}/{category['id']}", json=renamed, match=[matchers.json_params_matcher(renamed)]
    )
    assert len(mm.get_sidebar_categories(uid, tid)["order"]) == 2
    assert mm.create_sidebar_category(uid, tid, "Lancement", [cid])["id"] == category["id"]
    assert mm.update_sidebar_category(uid, tid, renamed)["display_name"] == "Le lancement"


def test_bookmark_verbs_and_the_licence_error(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    cid = CHANNEL["id"]
    bookmark = payload("bookmark")
    rsps.get(f"{API}/channels/{cid}/bookmarks", json=[bookmark])
    body = {
        "display_name": "Guide",
        "type": "link",
        "link_url": "https://intranet.example.com/guide",
        "emoji": ":book:",
    }
    rsps.post(
        f"{API}/channels/{cid}/bookmarks",
        status=201,
        json=bookmark,
        match=[matchers.json_params_matcher(body)],
    )
    rsps.post(f"{API}/channels/{cid}/bookmarks", status=403, json=payload("error_bookmark_license"))
    assert mm.list_bookmarks(cid) == [bookmark]
    mm.create_bookmark(cid, "Guide", link_url="https://intranet.example.com/guide", emoji=":book:")
    with pytest.raises(FeatureNeedsLicense, match="licence"):
        mm.create_bookmark(cid, "Guide", link_url="https://intranet.example.com/guide")


def test_command_and_dialog_verbs(rsps: responses.RequestsMock, mm: MattermostClient) -> None:
    command = payload("command")
    rsps.get(
        f"{API}/commands",
        json=[command],
        match=[matchers.query_param_matcher({"team_id": TEAM["id"], "custom_only": "true"})],
    )
    body = {
        "team_id": TEAM["id"],
        "trigger": "envol",
        "url": command["url"],
        "method": "P",
        "auto_complete": True,
    }
    rsps.post(
        f"{API}/commands", status=201, json=command, match=[matchers.json_params_matcher(body)]
    )
    dialog = {"callback_id": "survey", "title": "Votre avis", "elements": [], "state": "signed"}
    rsps.post(
        f"{API}/actions/dialogs/open",
        json=payload("status_ok"),
        match=[
            matchers.json_params_matcher(
                {"trigger_id": "trig", "url": "http://127.0.0.1:8080/dialogs", "dialog": dialog}
            )
        ],
    )
    response_url = f"{BASE}/hooks/commands/k1h2o3o4k5i6d7a8b9c0d1e2fa"
    answer = {"response_type": "ephemeral", "text": "C'est noté"}
    rsps.post(response_url, body="", match=[matchers.json_params_matcher(answer)])
    assert mm.list_commands(TEAM["id"])[0]["trigger"] == "envol"
    assert mm.create_command(TEAM["id"], "envol", command["url"], auto_complete=True)["token"]
    mm.open_dialog("trig", "http://127.0.0.1:8080/dialogs", dialog)
    mm.post_to_response_url(response_url, answer)
    assert "Authorization" not in rsps.calls[-1].request.headers  # the URL is the secret


def test_get_post_returns_none_only_for_missing_posts(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    rsps.get(f"{API}/posts/p1", status=404, json=payload("error_not_found"))
    rsps.get(f"{API}/users/u1", status=404, json=payload("error_not_found"))
    assert mm.get_post("p1") is None
    with pytest.raises(NotFound):
        mm.get_user("u1")
