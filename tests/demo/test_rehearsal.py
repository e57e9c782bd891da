"""``envol demo --mattermost-url … --token …`` rehearses the launch on a real Mattermost, and
``--clean`` removes what it created there (issue #15, part 4).

The "real" Mattermost is the sandbox served by ``envol sandbox`` in a process of its own: the
rehearsal (another process) reaches it through API v4 only, as it would a staging server, and so
does this test when it checks what happened there. The sandbox keeps real time, as a real server
does, while the rehearsal's clock runs the launch's weeks in a minute.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from plugin.cli import root as envol
from plugin.demo.fake_roster import DOMAIN
from plugin.demo.mail_catcher import free_port
from plugin.demo.scene import SCENE_RECORD_FILE, SceneRecord
from plugin.demo.steps.figures import FIGURES_FILE
from plugin.mattermost import MattermostClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PEOPLE = 20
TEAM = "entreprise"  # Envol's default team name, which the rehearsal uses as the demo does


@dataclass
class Server:
    url: str
    token: str


@dataclass
class Observed:
    """What the rehearsal left on the server, read through its API, before and after --clean."""

    figures: dict[str, Any]
    transcript: str
    people_in_team: list[dict[str, Any]] = field(default_factory=list)
    people_posts: int = 0
    bot_dms_with_people: int = 0
    max_users_per_team: int = 0
    clean_transcript: str = ""
    team_archived: bool = False
    people_active_after_clean: int = -1
    bot_active_after_clean: bool = True
    max_users_per_team_after_clean: int = 0


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """``envol sandbox`` in its own process, on a free port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "plugin.cli", "sandbox", "--port", str(port), "--seed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
        text=True,
    )
    try:
        token = ""
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while not token and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            found = re.search(r"admin token: (\w+)", line)
            token = found.group(1) if found else ""
        assert token, "envol sandbox did not print its admin token"
        yield Server(f"http://127.0.0.1:{port}", token)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def _envol(*args: str, timeout: float = 800) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "plugin.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def observed(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Observed:
    workdir = tmp_path_factory.mktemp("rehearsal")
    transcript = _envol(
        "demo", "--mattermost-url", server.url, "--token", server.token,
        "--people", str(PEOPLE), "--workdir", str(workdir),
    )  # fmt: skip
    seen = Observed(json.loads((workdir / FIGURES_FILE).read_text()), transcript)
    # The support scene's named people (demo-alice…), made by the scene, not the roster.
    named = set(SceneRecord.read(workdir / SCENE_RECORD_FILE).users.values())
    with MattermostClient(server.url, server.token) as mm:
        team = mm.get_team_by_name(TEAM)
        member_ids = [str(m["user_id"]) for m in mm.iter_team_members(team["id"])]
        seen.people_in_team = [
            u
            for u in mm.get_users_by_ids(member_ids)
            if u["email"].endswith("@" + DOMAIN) and u["id"] not in named
        ]
        people = {u["id"] for u in seen.people_in_team}
        for channel in mm.list_team_channels(team["id"]):
            seen.people_posts += sum(
                1 for p in mm.iter_channel_posts(channel["id"]) if p["user_id"] in people
            )
        bot = mm.get_user_by_username("envol")
        # The bot's channels in the team, its direct messages included (not an adapter verb:
        # Envol itself never lists them).
        answer = requests.get(
            f"{server.url}/api/v4/users/{bot['id']}/teams/{team['id']}/channels",
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=30,
        )
        answer.raise_for_status()
        for channel in answer.json():
            if channel["type"] == "D" and set(channel["name"].split("__")) & people:
                seen.bot_dms_with_people += sum(
                    1 for p in mm.iter_channel_posts(channel["id"]) if p["user_id"] == bot["id"]
                )
        seen.max_users_per_team = int(mm.get_config()["TeamSettings"]["MaxUsersPerTeam"])

        seen.clean_transcript = _envol(
            "demo", "--mattermost-url", server.url, "--token", server.token, "--clean",
            "--workdir", str(workdir),
        )  # fmt: skip
        seen.team_archived = bool(mm.get_team(team["id"])["delete_at"])
        seen.people_active_after_clean = sum(
            1 for u in mm.get_users_by_ids(sorted(people)) if not u["delete_at"]
        )
        seen.bot_active_after_clean = not mm.get_user(bot["id"])["delete_at"]
        seen.max_users_per_team_after_clean = int(
            mm.get_config()["TeamSettings"]["MaxUsersPerTeam"]
        )
    return seen


def test_the_rehearsal_invites_the_roster_and_people_join_the_real_server(
    observed: Observed,
) -> None:
    waves = observed.figures["waves"]
    invited = sum(w["status_invited"] for w in waves)
    joined = sum(w["status_joined"] for w in waves)
    assert invited == PEOPLE  # the whole roster, once
    assert 0 < joined <= invited
    # Envol's count of who joined is what the server holds: people in the team, by e-mail.
    assert len(observed.people_in_team) == joined
    assert observed.figures["agree"] is True


def test_people_post_and_envol_writes_to_them_on_the_real_server(observed: Observed) -> None:
    assert observed.people_posts > 0
    assert observed.bot_dms_with_people >= len(observed.people_in_team)  # a welcome each at least


def test_the_rehearsal_says_what_it_created_and_how_to_remove_it(observed: Observed) -> None:
    text = observed.transcript
    assert "What the rehearsal created on" in text
    assert f"1 team(s): {TEAM}" in text
    assert "envol-support" in text and "1 bot(s): envol" in text
    assert "--clean" in text
    assert observed.max_users_per_team > 50  # raised for the launch, recorded for --clean


def test_clean_deactivates_people_disables_the_bot_archives_the_team_and_restores_settings(
    observed: Observed,
) -> None:
    assert observed.team_archived
    assert observed.people_active_after_clean == 0
    assert not observed.bot_active_after_clean
    assert observed.max_users_per_team_after_clean == 50  # the server's value before
    # The people who joined, and the support scene's four named accounts.
    assert f"{len(observed.people_in_team) + 4} user(s) deactivated" in observed.clean_transcript


@pytest.mark.parametrize("option", ["--faults", "--contract", "--compare"])
def test_sandbox_only_options_are_refused_on_a_real_server(option: str) -> None:
    result = CliRunner().invoke(
        envol, ["demo", "--mattermost-url", "http://mm.invalid", "--token", "t", option]
    )
    assert result.exit_code == 2
    assert f"{option}: only on the sandbox" in result.output


def test_a_rehearsal_needs_a_token() -> None:
    result = CliRunner(env={"ENVOL_MATTERMOST_TOKEN": ""}).invoke(
        envol, ["demo", "--mattermost-url", "http://mm.invalid"]
    )
    assert result.exit_code == 2
    assert "needs --token" in result.output
