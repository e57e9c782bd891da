"""Adding a cohort to a team and 5 channels through the adapter, against the sandbox.

Measured in the same run:

* requests made by the batched adapter vs the lower bound ceil(N/256) + 5 × ceil(N/1000);
* the same vs a naive loop of one call per user and membership (rate limiting off for it,
  or it would take 20 minutes at 10 req/s);
* wall time of the batched run (made under the sandbox's rate limit, 10 req/s, burst 100) vs
  the naive loop unthrottled. Its few requests fit in the burst: the pacer is measured by
  ``bench_wave_invitations`` (a wave of far more requests than the burst).

The lower bound is computed (a formula); the rest is measured in the same run.
"""

from __future__ import annotations

import math
import time

from bench import Figure
from plugin.mattermost import MattermostClient
from plugin.mattermost.pacing import forget_pacers
from plugin.sandbox import Sandbox

NAME = "adapter_batching"
CHANNELS = 5
RATE = 10.0
BURST = 100


def _setup(sandbox: Sandbox, users: int, label: str) -> tuple[str, list[str], list[str]]:
    team = sandbox.create_team(f"team-{label}", admin_id=sandbox.admin_user_id)
    user_ids = [sandbox.create_user(f"{label}.person{i:05d}")["id"] for i in range(users)]
    channel_ids = [
        sandbox.create_channel(team["id"], f"{label}-channel-{c}")["id"] for c in range(CHANNELS)
    ]
    return team["id"], user_ids, channel_ids


def _batched(client: MattermostClient, team: str, users: list[str], channels: list[str]) -> None:
    results = client.add_team_members(team, users)
    assert all(r.added for r in results), "team batch failed"
    for channel in channels:
        added = client.add_channel_members(channel, users)
        assert all(r.added for r in added), "channel batch failed"


def _naive(client: MattermostClient, team: str, users: list[str], channels: list[str]) -> None:
    for user in users:
        client.add_team_members(team, [user])
    for channel in channels:
        for user in users:
            client.add_channel_members(channel, [user])


def run(quick: bool) -> list[Figure]:
    users = 300 if quick else 2000
    forget_pacers()
    sandbox = Sandbox.start(contract=False, seed=11)
    try:
        sandbox.patch_config({"TeamSettings": {"MaxUsersPerTeam": 3 * users + 10}})
        batched_scene = _setup(sandbox, users, "b")
        naive_scene = _setup(sandbox, users, "n")

        # Batched, under the server's rate limit, paced from its config.
        sandbox.set_rate_limit(RATE, burst=BURST)
        client = MattermostClient(sandbox.url, sandbox.admin_token, retry_budget_seconds=120)
        client.configure_pacing_from_server()
        before = client.request_count
        sandbox.request_log.clear()
        started = time.perf_counter()
        _batched(client, *batched_scene)
        batched_wall = time.perf_counter() - started
        batched_requests = client.request_count - before
        refused = sum(1 for entry in sandbox.request_log if entry.status == 429)
        client.close()

        # Naive, unthrottled (and unpaced: a fresh pacer per server URL).
        sandbox.set_rate_limit(None)
        forget_pacers()
        naive_client = MattermostClient(sandbox.url, sandbox.admin_token)
        started = time.perf_counter()
        _naive(naive_client, *naive_scene)
        naive_wall = time.perf_counter() - started
        naive_requests = naive_client.request_count
        naive_client.close()
    finally:
        sandbox.stop()
        forget_pacers()

    lower_bound = math.ceil(users / 256) + CHANNELS * math.ceil(users / 1000)
    figures = [
        Figure(
            NAME,
            f"requests, {users} users → team + {CHANNELS} channels",
            batched_requests,
            lower_bound,
            "ceil(N/256) + 5·ceil(N/1000)",
            "requests",
            computed=True,
        ),
        Figure(
            NAME,
            "requests, batched vs one call per user",
            batched_requests,
            naive_requests,
            "naive loop",
            "requests",
        ),
        Figure(
            NAME,
            f"wall time: batched ({refused} refused under {RATE:g} req/s) vs naive loop",
            batched_wall,
            naive_wall,
            "naive loop, no rate limit",
            "s",
        ),
    ]
    return figures
