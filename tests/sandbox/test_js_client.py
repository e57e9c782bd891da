"""The sandbox driven by a client nobody here wrote: Mattermost's official JavaScript client
(``@mattermost/client`` from npm, ``tests/js/``), through the calls it makes after login.

``.ci/run`` installs it (``npm ci`` in ``tests/js``); elsewhere the test is skipped, with the
reason, until ``npm ci`` has been run there. Under ``CI=true`` a missing install fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from plugin.sandbox import Sandbox

JS = Path(__file__).resolve().parents[1] / "js"
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "Sandbox-password-1"


def _require_client() -> str:
    node = shutil.which("node")
    problem = ""
    if node is None:
        problem = "node is not installed (Debian's nodejs)"
    elif not (JS / "node_modules" / "@mattermost" / "client").is_dir():
        problem = f"@mattermost/client is not installed: run `npm ci` in {JS}"
    if problem:
        if IN_CI:
            pytest.fail(f"{problem}; .ci/run should have done it")
        pytest.skip(problem)
    assert node is not None
    return node


def test_the_official_js_client_drives_the_sandbox(sandbox: Sandbox, tmp_path: Path) -> None:
    node = _require_client()
    sandbox.state.passwords[sandbox.admin_user_id] = PASSWORD
    team = sandbox.create_team("acme", "Acme", admin_id=sandbox.admin_user_id)
    alice = sandbox.create_user("alice", first_name="Alice", password=PASSWORD)
    bob = sandbox.create_user("alban", first_name="Alban")
    for user in (alice, bob):
        sandbox.add_team_member(team["id"], user["id"])
    town = sandbox.channel_by_name(team["id"], "town-square")
    bot = sandbox.create_bot("envol", "Envol")
    requests_before = len(list(sandbox.request_log))
    with sandbox.state.lock:
        command_id = sandbox.state.ids.new_id()
        sandbox.state.commands[command_id] = {
            "id": command_id, "token": sandbox.state.ids.new_id(), "create_at": 1,
            "update_at": 1, "delete_at": 0, "creator_id": sandbox.admin_user_id,
            "team_id": team["id"], "trigger": "envol", "method": "P", "username": "",
            "icon_url": "", "auto_complete": True, "auto_complete_desc": "Envol's help",
            "auto_complete_hint": "[help]", "display_name": "Envol", "description": "",
            "url": "http://127.0.0.1:9/commands",
        }  # fmt: skip
    scene = {
        "url": sandbox.url,
        "username": "alice",
        "password": PASSWORD,
        "adminUsername": "sysadmin",
        "adminPassword": PASSWORD,
        "teamId": team["id"],
        "channelId": town["id"],
        "otherUserId": bob["id"],
        "searchTerm": "al",
        "trigger": "envol",
        "botUserId": bot["user_id"],
    }
    scene_file = tmp_path / "scene.json"
    scene_file.write_text(json.dumps(scene), encoding="utf-8")
    run = subprocess.run(
        [node, str(JS / "drive.mjs"), str(scene_file)],
        cwd=JS, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    results: dict[str, Any] = json.loads(run.stdout)
    failed = {name: r for name, r in results.items() if not r["ok"]}
    assert set(failed) == {"wrongPassword", "rolesRefused", "badId"}, failed

    assert results["login"]["data"]["id"] == alice["id"]
    assert failed["wrongPassword"]["id"] == "api.user.login.invalid_credentials_email_username"
    assert [t["id"] for t in results["teams"]["data"]] == [team["id"]]
    assert [u["username"] for u in results["search"]["data"]] == ["alban", "alice"]
    assert [u["username"] for u in results["autocomplete"]["data"]["users"]] == ["alban", "alice"]
    assert results["myChannelMember"]["data"]["user_id"] == alice["id"]
    assert results["teamMember"]["data"]["user_id"] == bob["id"]
    assert results["teamStats"]["data"]["total_member_count"] == 3
    assert "town-square" in [c["name"] for c in results["myChannels"]["data"]]
    assert [s["Complete"] for s in results["suggestions"]["data"]] == ["envol"]
    assert failed["rolesRefused"]["status"] == 403
    assert results["roles"]["data"] == {"status": "OK"}
    assert sandbox.state.is_system_admin(bot["user_id"])
    assert (failed["badId"]["status"], failed["badId"]["id"]) == (
        400,
        "api.context.invalid_url_param.app_error",
    )
    # Every call was the client's, over HTTP, and checked against the OpenAPI contract (the
    # sandbox fixture fails the test on a violation).
    assert len(list(sandbox.request_log)) - requests_before >= len(results)
