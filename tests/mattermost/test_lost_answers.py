"""Creates whose answer is lost (the server applied them, then a 5xx or a dropped connection):
the adapter finds the object under its unique name instead of creating it twice."""

from __future__ import annotations

from plugin.mattermost import MattermostClient
from plugin.sandbox import Sandbox


def test_lost_answers_to_creates_never_make_duplicates(sandbox: Sandbox) -> None:
    sandbox.patch_config({"ServiceSettings": {"EnableBotAccountCreation": True}})
    team = sandbox.create_team("acme", admin_id=sandbox.admin_user_id)
    # Half the calls fail *after* the server applied them: every create is ambiguous at times.
    sandbox.set_faults(error_rate=0.5, seed=11, apply_then_fail=True)
    with MattermostClient(sandbox.url, sandbox.admin_token, retry_budget_seconds=30) as mm:
        channels = [mm.create_channel(team["id"], f"space-{n}", f"Space {n}") for n in range(8)]
        teams = [mm.create_team(f"team-{n}", f"Team {n}") for n in range(4)]
        users = [mm.create_user(f"u{n}@example.com", f"user-{n}", password="Passw0rd!x")
                 for n in range(4)]  # fmt: skip
        bot = mm.create_bot("envol", "Envol")
    sandbox.clear_faults()
    faulty = [r for r in sandbox.request_log if r.fault and r.method == "POST"]
    assert faulty, "the seed must make some creates fail after being applied"
    state = sandbox.state
    names = [c["name"] for c in state.channels.values() if c["team_id"] == team["id"]]
    assert sorted(n for n in names if n.startswith("space-")) == [f"space-{n}" for n in range(8)]
    assert [c["name"] for c in channels] == [f"space-{n}" for n in range(8)]
    assert sorted(t["name"] for t in state.teams.values() if t["name"].startswith("team-")) == [
        t["name"] for t in teams
    ]
    assert len([u for u in state.users.values() if u["username"].startswith("user-")]) == 4
    assert [u["username"] for u in users] == [f"user-{n}" for n in range(4)]
    assert len([b for b in state.bots.values() if b["username"] == "envol"]) == 1
    assert bot["username"] == "envol"
