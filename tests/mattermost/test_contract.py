"""Every adapter verb against the sandbox, with the OpenAPI contract check on.

The ``sandbox`` fixture fails a test when any request the adapter sent, or any response it
received, breaks Mattermost's published contract (minus the spec's documented gaps). A
recording proxy notes which verbs ran; the last test checks that none was forgotten.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugin.cohorts.limits import limits_from_server
from plugin.demo.sandbox_people import as_user
from plugin.mattermost import (
    FeatureNeedsLicense,
    Invalid,
    MattermostClient,
    NotFound,
    Unauthorized,
)
from plugin.preflight import PreflightContext, run_preflight
from plugin.sandbox import Sandbox
from plugin.settings import load_deploy_settings
from tests.helpers.sandbox import IntegrationReceiver, needs_spec

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)

CALLED: set[str] = set()


class Recording:
    """The client, noting each public verb used."""

    def __init__(self, client: MattermostClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if callable(value) and not name.startswith("_"):
            CALLED.add(name)
        return value


def _public_verbs() -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(MattermostClient)
        if not name.startswith("_")
        and inspect.isfunction(member)
        and name not in {"close", "from_settings"}
    }


@pytest.fixture
def mm(sandbox: Sandbox) -> Iterator[Any]:
    sandbox.patch_config(
        {
            "ServiceSettings": {
                "EnableBotAccountCreation": True,
                "EnableUserAccessTokens": True,
                "EnableCommands": True,
            }
        }
    )
    client = MattermostClient(sandbox.url, sandbox.admin_token, retry_budget_seconds=5)
    yield Recording(client)
    client.close()


@pytest.fixture
def scene(sandbox: Sandbox) -> dict[str, Any]:
    camille = sandbox.create_user("camille.martin", first_name="Camille", locale="fr")
    jo = sandbox.create_user("jo.dupont", first_name="Jo", locale="en")
    team = sandbox.create_team("acme", admin_id=sandbox.admin_user_id)
    return {"camille": camille, "jo": jo, "team": team}


def test_system_and_config_verbs(mm: Any, sandbox: Sandbox) -> None:
    assert mm.ping()["status"] == "OK"
    assert mm.get_client_config()["Version"] == mm.server_version()
    assert mm.is_licensed() is False
    assert mm.get_license()["IsLicensed"] == "false"
    limits = mm.get_server_limits()
    assert limits is not None and limits.max_users_hard_limit
    assert (
        mm.patch_config({"TeamSettings": {"MaxUsersPerTeam": 2000}})["TeamSettings"][
            "MaxUsersPerTeam"
        ]
        == 2000
    )
    config = mm.get_config()
    config["PluginSettings"].setdefault("Plugins", {})["fr.envol.launch"] = {"teamname": "acme"}
    mm.update_config(config)
    assert mm.get_plugin_settings("fr.envol.launch") == {"teamname": "acme"}
    sandbox.patch_config({"RateLimitSettings": {"Enable": True, "PerSec": 10, "MaxBurst": 100}})
    try:
        assert mm.configure_pacing_from_server() == pytest.approx(9.0)
    finally:
        mm.pacer.configure(None)
    mm.set_custom_brand(site_name="Acme", brand_text="Bienvenue", description_text="Le réseau")
    assert mm.get_client_config()["EnableCustomBrand"] == "true"
    mm.upload_brand_image(PNG)


def test_user_and_bot_verbs(mm: Any, scene: dict[str, Any]) -> None:
    camille, jo = scene["camille"], scene["jo"]
    assert mm.get_me()["roles"].startswith("system_admin")
    assert mm.get_user(camille["id"])["username"] == "camille.martin"
    assert mm.get_user_by_username("jo.dupont")["id"] == jo["id"]
    assert mm.get_user_by_email(camille["email"])["id"] == camille["id"]
    assert {u["id"] for u in mm.get_users_by_ids([camille["id"], jo["id"], "x" * 26])} == {
        camille["id"],
        jo["id"],
    }
    assert len(mm.get_users_by_usernames(["camille.martin", "nobody"])) == 1
    assert len(mm.get_users_by_emails([camille["email"], "ghost@example.com"])) == 1
    assert len(list(mm.iter_users(active=True))) >= 3
    new = mm.create_user("lea@example.com", "lea", password="Passw0rd!x1", locale="fr")
    assert mm.patch_user(new["id"], {"position": "DAF"})["position"] == "DAF"
    assert {s["user_id"] for s in mm.get_statuses([camille["id"], jo["id"]])} == {
        camille["id"],
        jo["id"],
    }
    assert mm.find_bot("envol") is None
    bot = mm.create_bot("envol", "Envol", "Assistant de lancement")
    assert mm.find_bot("envol")["user_id"] == bot["user_id"]
    assert mm.create_user_access_token(bot["user_id"], "envol")["token"]


def test_team_verbs(mm: Any, sandbox: Sandbox, scene: dict[str, Any]) -> None:
    team = mm.create_team("pilote", "Pilote")
    assert mm.get_team(team["id"])["name"] == "pilote"
    assert mm.get_team_by_name("pilote")["id"] == team["id"]
    assert mm.patch_team(team["id"], {"description": "Le pilote"})["description"] == "Le pilote"
    mm.set_team_icon(team["id"], PNG)
    ids = [scene["camille"]["id"], scene["jo"]["id"]]
    results = mm.add_team_members(team["id"], ids)
    assert all(r.added for r in results) and sandbox.team_member_ids(team["id"]) >= set(ids)
    assert {m["user_id"] for m in mm.iter_team_members(team["id"])} >= set(ids)
    link = mm.team_invite_link(team["id"])
    assert link.endswith(f"/signup_user_complete/?id={team['invite_id']}")
    sandbox.patch_config({"ServiceSettings": {"EnableEmailInvitations": True}})
    invited = mm.invite_by_email(team["id"], ["new.person@example.com"])
    assert invited[0].sent


def test_what_a_rehearsal_sets_up_and_removes(
    mm: Any, sandbox: Sandbox, scene: dict[str, Any]
) -> None:
    """The verbs of ``plugin.demo.scene``: a system admin made over the API, a file read back,
    then what ``envol demo --clean`` does: users deactivated, the bot disabled, the team
    archived; their tokens stop working."""
    camille, team = scene["camille"], scene["team"]
    mm.set_user_roles(camille["id"], "system_admin system_user")
    assert sandbox.state.is_system_admin(camille["id"])
    town = mm.get_channel_by_name(team["id"], "town-square")
    mm.add_team_members(team["id"], [camille["id"]])
    uploaded = mm.upload_file(town["id"], PNG, "chart.png", "image/png")
    assert mm.get_file(uploaded["id"]) == PNG
    token = mm.create_user_access_token(camille["id"], "rehearsal")["token"]
    bot = mm.create_bot("rehearsal-bot", "Rehearsal")
    bot_token = mm.create_user_access_token(bot["user_id"], "rehearsal")["token"]
    mm.deactivate_user(camille["id"])
    assert mm.disable_bot(bot["user_id"])["delete_at"]
    mm.archive_team(team["id"])
    assert mm.get_user(camille["id"])["delete_at"]
    assert mm.get_team(team["id"])["delete_at"]
    for revoked in (token, bot_token):
        with (
            MattermostClient(sandbox.url, revoked, retry_budget_seconds=0) as gone,
            pytest.raises(Unauthorized),
        ):
            gone.get_me()


def test_team_batch_reports_the_team_cap_per_user(
    mm: Any, sandbox: Sandbox, scene: dict[str, Any]
) -> None:
    sandbox.patch_config({"TeamSettings": {"MaxUsersPerTeam": 2}})
    team = scene["team"]  # holds the admin already
    results = mm.add_team_members(team["id"], [scene["camille"]["id"], scene["jo"]["id"]])
    assert [r.added for r in results] == [True, False]
    assert "max_accounts" in results[1].error_id


def test_channel_verbs(mm: Any, sandbox: Sandbox, scene: dict[str, Any]) -> None:
    team = scene["team"]
    ids = [scene["camille"]["id"], scene["jo"]["id"]]
    mm.add_team_members(team["id"], ids)
    channel = mm.create_channel(team["id"], "entraide", "Entraide", purpose="Questions")
    assert mm.get_channel(channel["id"])["purpose"] == "Questions"
    assert mm.patch_channel(channel["id"], {"header": "Bienvenue"})["header"] == "Bienvenue"
    assert "entraide" in {c["name"] for c in mm.list_team_channels(team["id"])}
    results = mm.add_channel_members(channel["id"], ids)
    assert all(r.added for r in results)
    assert {m["user_id"] for m in mm.iter_channel_members(channel["id"])} >= set(ids)
    mm.remove_channel_member(channel["id"], scene["jo"]["id"])
    assert scene["jo"]["id"] not in sandbox.channel_member_ids(channel["id"])
    mm.delete_channel(channel["id"])
    with pytest.raises(NotFound):
        mm.get_channel_by_name(team["id"], "entraide")
    assert mm.get_channel_by_name(team["id"], "entraide", include_deleted=True)["delete_at"]
    assert "entraide" not in {c["name"] for c in mm.list_team_channels(team["id"])}
    archived = {c["name"]: c for c in mm.list_team_channels(team["id"], include_deleted=True)}
    assert archived["entraide"]["delete_at"] and "town-square" in archived
    assert mm.restore_channel(channel["id"])["delete_at"] == 0


def test_direct_message_and_post_verbs(mm: Any, sandbox: Sandbox, scene: dict[str, Any]) -> None:
    camille = scene["camille"]
    sandbox.add_team_member(scene["team"]["id"], camille["id"])
    dm = mm.get_direct_channel(camille["id"])
    assert dm["type"] == "D"
    assert mm.direct_channel_id(camille["id"]) == dm["id"]
    sent = mm.send_direct_message(camille["id"], "Bonjour Camille", {"kind": "welcome"})
    assert sent["channel_id"] == dm["id"]
    channel = sandbox.create_channel(scene["team"]["id"], "annonces")
    root = mm.create_post(channel["id"], "Bienvenue !", marker="welcome:1")
    reply = mm.create_post(channel["id"], "Première réponse", root_id=root["id"])
    found = mm.find_post_by_marker(channel["id"], "welcome:1", root["create_at"] - 1)
    assert found["id"] == root["id"]
    assert mm.get_post(root["id"])["message"] == "Bienvenue !"
    edited = mm.update_post(root["id"], message="Bienvenue à tous !", props={"poll": "open"})
    assert edited["props"]["poll"] == "open" and edited["edit_at"]
    assert [p["id"] for p in mm.iter_channel_posts(channel["id"])][-2:] == [root["id"], reply["id"]]
    assert [p["id"] for p in mm.get_thread(root["id"])] == [root["id"], reply["id"]]
    mm.pin_post(reply["id"])
    mm.pin_post(root["id"])
    assert sandbox.state.post(root["id"])["is_pinned"]
    assert [p["id"] for p in mm.get_pinned_posts(channel["id"])] == [root["id"], reply["id"]]
    mm.unpin_post(root["id"])
    assert [p["id"] for p in mm.get_pinned_posts(channel["id"])] == [reply["id"]]
    mm.add_reaction(root["id"], "tada")
    assert mm.list_reactions(root["id"])[0]["emoji_name"] == "tada"
    info = mm.upload_file(channel["id"], b"%PDF-1.4 guide", "guide.pdf", "application/pdf")
    with_file = mm.create_post(channel["id"], "Le guide", file_ids=[info["id"]])
    assert with_file["file_ids"] == [info["id"]]
    mm.delete_post(reply["id"])
    assert mm.get_post(reply["id"]) is None
    assert mm.get_pinned_posts(channel["id"]) == []  # a deleted post is no longer listed
    mm.create_ephemeral_post(camille["id"], channel["id"], "Psst")
    assert sandbox.ephemeral_for(camille["id"])[-1]["message"] == "Psst"


def test_preference_and_sidebar_verbs(mm: Any, sandbox: Sandbox, scene: dict[str, Any]) -> None:
    camille, team = scene["camille"], scene["team"]
    sandbox.add_team_member(team["id"], camille["id"])
    channel = sandbox.create_channel(team["id"], "lancement")
    sandbox.add_channel_member(channel["id"], camille["id"])
    mm.set_theme(camille["id"], {"sidebarBg": "#1e325c", "type": "Envol"})
    assert mm.get_theme(camille["id"])["sidebarBg"] == "#1e325c"
    mm.save_preferences(
        camille["id"],
        [
            {
                "user_id": camille["id"],
                "category": "tutorial_step",
                "name": camille["id"],
                "value": "3",
            }
        ],
    )
    assert any(p["category"] == "tutorial_step" for p in mm.get_preferences(camille["id"]))
    created = mm.create_sidebar_category(camille["id"], team["id"], "Lancement", [channel["id"]])
    assert created["channel_ids"] == [channel["id"]]
    renamed = mm.update_sidebar_category(
        camille["id"], team["id"], {**created, "display_name": "Le lancement"}
    )
    assert renamed["display_name"] == "Le lancement"
    categories = mm.get_sidebar_categories(camille["id"], team["id"])
    assert created["id"] in categories["order"]


def test_bookmark_verbs_need_a_licence(mm: Any, sandbox: Sandbox, scene: dict[str, Any]) -> None:
    channel = sandbox.create_channel(scene["team"]["id"], "ressources")
    with pytest.raises(FeatureNeedsLicense, match="licence"):
        mm.create_bookmark(channel["id"], "Guide", link_url="https://intranet.example.com/g")
    sandbox.set_license(True)
    assert mm.is_licensed()
    bookmark = mm.create_bookmark(
        channel["id"], "Guide", link_url="https://intranet.example.com/g", emoji="book"
    )
    changed = mm.update_bookmark(channel["id"], bookmark["id"], {"display_name": "Le guide"})
    assert changed["updated"]["display_name"] == "Le guide"
    assert [b["display_name"] for b in mm.list_bookmarks(channel["id"])] == ["Le guide"]


def test_command_dialog_and_response_url_verbs(
    mm: Any,
    sandbox: Sandbox,
    scene: dict[str, Any],
    integration_receiver: IntegrationReceiver,
) -> None:
    team, camille = scene["team"], scene["camille"]
    sandbox.add_team_member(team["id"], camille["id"])
    channel = sandbox.create_channel(team["id"], "support")
    sandbox.add_channel_member(channel["id"], camille["id"])
    command = mm.create_command(
        team["id"], "envol", integration_receiver.url + "/slash", auto_complete=True
    )
    assert [c["trigger"] for c in mm.list_commands(team["id"])] == ["envol"]
    updated = mm.update_command({**command, "description": "Assistant"})
    assert updated["description"] == "Assistant"
    new_token = mm.regenerate_command_token(command["id"])
    assert new_token and new_token != command["token"]

    as_user(sandbox, camille["id"]).run_command(channel["id"], "/envol aide")
    form = integration_receiver.calls[-1].form
    assert form["token"] == new_token
    dialog = {"callback_id": "ticket", "title": "Demande", "elements": [], "state": "s"}
    mm.open_dialog(form["trigger_id"], integration_receiver.url + "/dialog", dialog)
    assert sandbox.dialogs_for(camille["id"])[-1].dialog["callback_id"] == "ticket"
    mm.post_to_response_url(
        form["response_url"], {"response_type": "in_channel", "text": "C'est noté"}
    )
    assert sandbox.posts_in(channel["id"])[-1]["message"] == "C'est noté"
    mm.delete_command(command["id"])
    assert mm.list_commands(team["id"]) == []


@needs_spec
def test_a_deliberately_wrong_request_is_caught_by_the_contract_check(
    sandbox: Sandbox, scene: dict[str, Any]
) -> None:
    client = MattermostClient(sandbox.url, sandbox.admin_token, retry_budget_seconds=2)
    # display_name must be a string: the spec says so, whatever the server then answers.
    with pytest.raises(Invalid):
        client.create_channel(scene["team"]["id"], "wrong", 42)  # type: ignore[arg-type]
    report = sandbox.violation_report()
    sandbox.clear_violations()  # caught: do not fail this test for it
    assert "POST /api/v4/channels" in report and "display_name" in report


def test_preflight_on_team_edition_with_a_small_team_cap(
    sandbox: Sandbox, scene: dict[str, Any]
) -> None:
    deploy = load_deploy_settings(
        mattermost_url=sandbox.url,
        mattermost_token=sandbox.admin_token,
        public_url="https://envol.example.com",
    )
    with MattermostClient.from_settings(deploy, retry_budget_seconds=2) as client:
        report = run_preflight(
            PreflightContext(client=client, deploy=deploy, cohort_sizes=(150, 1350))
        )
    assert report.check("Channel bookmarks").status == "warn"
    assert "licence" in report.check("Channel bookmarks").found
    team_size = report.check("Team size")
    assert team_size.status == "block"
    assert "MaxUsersPerTeam = 50" in team_size.found and "1,500 people" in team_size.found
    assert '"MaxUsersPerTeam": 1700' in team_size.action
    assert report.blocked
    assert report.check("Server").status == "ok"


def test_preflight_passes_once_the_server_is_ready(sandbox: Sandbox) -> None:
    sandbox.patch_config(
        {
            "TeamSettings": {"MaxUsersPerTeam": 2000},
            "ServiceSettings": {"AllowedUntrustedInternalConnections": "127.0.0.1"},
            "PluginSettings": {
                "EnableUploads": True,
                # The company's own facts: the example ones block a real launch.
                "Plugins": {"fr.envol.launch": {"companyname": "Acme", "launchdate": "2027-05-03"}},
            },
        }
    )
    sandbox.create_bot("envol", "Envol")
    sandbox.set_license(True)
    deploy = load_deploy_settings(
        mattermost_url=sandbox.url,
        mattermost_token=sandbox.admin_token,
        public_url="http://127.0.0.1:8080",
    )
    with MattermostClient.from_settings(deploy, retry_budget_seconds=2) as client:
        report = run_preflight(PreflightContext(client=client, deploy=deploy, cohort_sizes=(1500,)))
    assert not report.blocked, report.blockers
    assert report.check("Channel bookmarks").status == "ok"
    assert report.check("Envol's public URL").status == "ok"


def test_preflight_with_a_non_admin_token_blocks_on_permissions(
    sandbox: Sandbox, scene: dict[str, Any]
) -> None:
    token = sandbox.create_token(scene["camille"]["id"])
    deploy = load_deploy_settings(mattermost_url=sandbox.url, mattermost_token=token)
    with MattermostClient.from_settings(deploy, retry_budget_seconds=2) as client:
        report = run_preflight(PreflightContext(client=client, deploy=deploy))
    assert report.check("Token permissions").status == "block"
    assert "system_admin" in report.check("Token permissions").action


@pytest.mark.parametrize(
    ("planned", "status"),
    [(4999, "ok"), (5000, "warn"), (11000, "warn"), (11001, "block")],
)
def test_preflight_user_caps_are_the_servers(sandbox: Sandbox, planned: int, status: str) -> None:
    """app/limits.go: 5,000 soft, 11,000 hard, and a new account is refused only once the
    active users exceed the hard cap (so 11,001 fit). The sandbox's admin is the one user."""
    deploy = load_deploy_settings(mattermost_url=sandbox.url, mattermost_token=sandbox.admin_token)
    with MattermostClient.from_settings(deploy, retry_budget_seconds=2) as client:
        report = run_preflight(
            PreflightContext(client=client, deploy=deploy, cohort_sizes=(planned,))
        )
    check = report.check("User limits")
    assert check.status == status, check
    assert "5,000 soft / 11,000 hard" in check.found


@pytest.mark.parametrize("planned", [40, 49, 60, 100, 101])
def test_preflight_and_waves_list_judge_the_user_cap_alike(sandbox: Sandbox, planned: int) -> None:
    """Preflight's verdict and `waves list`'s warnings read the same limits from the server
    (plugin/cohorts/limits.py) and apply one rule: a warning in one is a warning in the other."""
    sandbox.state.user_limits = (50, 100)  # soft, hard (the admin is the one active user)
    deploy = load_deploy_settings(mattermost_url=sandbox.url, mattermost_token=sandbox.admin_token)
    with MattermostClient.from_settings(deploy, retry_budget_seconds=2) as client:
        limits = limits_from_server(client)
        report = run_preflight(
            PreflightContext(client=client, deploy=deploy, cohort_sizes=(planned,))
        )
    problem = limits.user_cap_problem(planned + limits.users_already_on_server)
    expected = {40: "ok", 49: "ok", 60: "warn", 100: "warn", 101: "block"}[planned]
    assert report.check("User limits").status == expected
    assert (problem[0] if problem else "ok") == expected


def test_every_verb_was_driven_against_the_sandbox(request: pytest.FixtureRequest) -> None:
    here = Path(__file__)
    selected = {
        getattr(item, "originalname", item.name)
        for item in request.session.items
        if item.path == here
    }
    defined = {name for name in globals() if name.startswith("test_")}
    if selected != defined:
        pytest.skip("meaningful only when the whole module runs")
    missing = _public_verbs() - CALLED
    assert not missing, f"verbs never driven against the sandbox: {sorted(missing)}"
