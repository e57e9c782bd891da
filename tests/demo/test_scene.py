"""The demo's scene over API v4: found before created, every creation and changed setting
recorded for ``--clean``, and ``--clean`` removing exactly what was recorded."""

from __future__ import annotations

from pathlib import Path

from plugin.demo.clean import clean_rehearsal
from plugin.demo.fake_roster import DOMAIN
from plugin.demo.scene import SCENE_RECORD_FILE, Scene, SceneRecord
from plugin.sandbox import Sandbox


def _scene(sandbox: Sandbox, tmp_path: Path) -> Scene:
    sandbox.patch_config(
        {"ServiceSettings": {"EnableBotAccountCreation": True, "EnableUserAccessTokens": True}}
    )
    return Scene(sandbox.url, sandbox.admin_token, record=tmp_path / SCENE_RECORD_FILE)


def test_the_scene_records_what_it_created_not_what_it_found(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    existing = sandbox.create_team("deja-la", admin_id=sandbox.admin_user_id)
    sandbox.create_user("camille", first_name="Camille")
    scene = _scene(sandbox, tmp_path)
    try:
        assert scene.team("deja-la")["id"] == existing["id"]
        team = scene.team("nouvelle")
        scene.channel(team, "annonces")
        scene.channel(team, "town-square")  # the team came with it
        scene.user("camille")
        alice = scene.user("demo-alice", first_name="Alice", locale="fr")
        scene.join_team(team["id"], alice["id"])
        bot = scene.bot("envol", "Envol")
        scene.make_system_admin(bot["user_id"])
        assert scene.person(alice["id"]).user_id == alice["id"]
    finally:
        scene.close()
    record = SceneRecord.read(tmp_path / SCENE_RECORD_FILE)
    assert set(record.teams) == {"nouvelle"}
    assert set(record.channels) == {"nouvelle/annonces"}
    assert set(record.users) == {"demo-alice"}
    assert set(record.bots) == {"envol"}
    assert record.tokens == 1
    assert sandbox.state.users[alice["id"]]["email"] == f"demo-alice@{DOMAIN}"
    assert sandbox.state.is_system_admin(bot["user_id"])


def test_settings_keep_their_first_previous_value_and_callbacks_are_added_to_the_list(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.patch_config(
        {"ServiceSettings": {"AllowedUntrustedInternalConnections": "10.1.0.0/16"}}
    )
    scene = _scene(sandbox, tmp_path)
    try:
        scene.raise_team_size(200)
        scene.raise_team_size(100)  # already higher: left alone
        scene.configure({"TeamSettings": {"MaxUsersPerTeam": 300}})
        scene.allow_callbacks_to("http://10.0.0.5:8099")
        scene.allow_callbacks_to("http://10.0.0.5:9000")  # the same host: listed once
    finally:
        scene.close()
    config = sandbox.state.config
    assert config["TeamSettings"]["MaxUsersPerTeam"] == 300
    allowed = config["ServiceSettings"]["AllowedUntrustedInternalConnections"]
    assert allowed == "10.1.0.0/16 10.0.0.5"
    record = SceneRecord.read(tmp_path / SCENE_RECORD_FILE)
    assert record.settings == {
        "TeamSettings.MaxUsersPerTeam": 50,
        "ServiceSettings.AllowedUntrustedInternalConnections": "10.1.0.0/16",
    }


def test_clean_removes_what_was_recorded_and_the_simulated_people_only(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    colleague = sandbox.create_user("vraie.collegue", first_name="Vraie")
    scene = _scene(sandbox, tmp_path)
    try:
        team = scene.team("entreprise")
        scene.channel(team, "annonces")
        bot = scene.bot("envol", "Envol")
        scene.raise_team_size(500)
        scene.join_team(team["id"], colleague["id"])
        employee = sandbox.create_user("lea.martin", email=f"lea.martin@{DOMAIN}")
        scene.join_team(team["id"], employee["id"])  # signed up from an invitation
    finally:
        scene.close()
    said: list[str] = []
    report = clean_rehearsal(sandbox.url, sandbox.admin_token, tmp_path, say=said.append)
    users = sandbox.state.users
    assert users[employee["id"]]["delete_at"] and users[bot["user_id"]]["delete_at"]
    assert not users[colleague["id"]]["delete_at"]  # not the rehearsal's
    assert not users[sandbox.admin_user_id]["delete_at"]
    assert sandbox.state.teams[team["id"]]["delete_at"]
    assert sandbox.state.config["TeamSettings"]["MaxUsersPerTeam"] == 50
    assert report.deactivated == ["lea.martin"] and report.teams_archived == ["entreprise"]
    assert SceneRecord.read(tmp_path / SCENE_RECORD_FILE).teams == {}
    again = clean_rehearsal(sandbox.url, sandbox.admin_token, tmp_path, say=said.append)
    assert again.teams_archived == [] and again.bots_disabled == []


def test_clean_refuses_the_record_of_another_server(tmp_path: Path) -> None:
    SceneRecord(server="http://staging.invalid", teams={"entreprise": "t" * 26}).write(
        tmp_path / SCENE_RECORD_FILE
    )
    said: list[str] = []
    report = clean_rehearsal("http://other.invalid", "token", tmp_path, say=said.append)
    assert report.teams_archived == [] and "not http://other.invalid" in said[0]
