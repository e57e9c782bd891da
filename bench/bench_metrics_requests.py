"""Metrics snapshot for 10,000 people: requests made against the fewest possible.

The fewest possible (``plugin.metrics.collect.minimum_requests``) is 1 team lookup +
ceil((N+1)/200) member pages + ceil(N/1000) users + ceil(N/1000) statuses + the public channel
listing + one ``since`` read per channel. The naive way, one user and one status request per
person plus the same channel reads, is shown for scale. The second snapshot, a day later, reads
only the posts written since the first one.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

from bench import Figure
from plugin import clock
from plugin.db import make_engine, make_session_factory, transaction
from plugin.mattermost import MattermostClient
from plugin.metrics.service import take_snapshot
from plugin.models import metadata
from plugin.people.models import Person
from plugin.sandbox import Sandbox
from plugin.settings import runtime_settings_from_config

NAME = "metrics_requests"
CHANNELS = 12


def _populate(sandbox: Sandbox, people: int, team_name: str) -> list[str]:
    """Users straight into the sandbox's state (no HTTP: only the snapshot's requests count)."""
    sandbox.patch_config({"TeamSettings": {"MaxUsersPerTeam": people + 100}})
    team = sandbox.create_team(team_name, "Bench")
    channels = [
        sandbox.create_channel(team["id"], f"espace-{index}", f"Espace {index}")["id"]
        for index in range(CHANNELS)
    ]
    user_ids = []
    with sandbox.state.lock:
        # One batch: made one at a time, each user's uniqueness check reads every user before
        # it: quadratic (10,000 people took 28 s; 100,000 would take some 20 minutes).
        users = sandbox.state.create_users(
            {
                "username": f"bench{index}",
                "email": f"bench{index}@exemple.fr",
                "first_name": "Prénom",
                "last_name": f"Nom{index}",
                "position": "Technicien" if index % 3 else "",
            }
            for index in range(people)
        )
        for index, user in enumerate(users):
            sandbox.state.add_team_member(team["id"], user["id"], enforce_cap=False)
            if index % 4 == 0:
                sandbox.state.touch(user["id"])
            if index % 10 == 0:
                channel_id = channels[index % CHANNELS]
                sandbox.state.add_channel_member(channel_id, user["id"])
                sandbox.state.create_post(
                    user_id=user["id"], channel_id=channel_id, message="Bonjour"
                )
            user_ids.append(user["id"])
    return user_ids


def run(quick: bool) -> list[Figure]:
    people = 1_000 if quick else 10_000
    settings = runtime_settings_from_config({})
    frozen = clock.FrozenClock(dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC))
    clock.set_source(frozen)
    sandbox = Sandbox.start(contract=False, user_limits=(people + 100, people + 100))
    try:
        user_ids = _populate(sandbox, people, settings.team_name)
        with tempfile.TemporaryDirectory() as workdir:
            engine = make_engine(f"sqlite:///{Path(workdir) / 'bench.db'}")
            metadata.create_all(engine)
            sessions = make_session_factory(engine)
            with transaction(sessions) as session:
                session.add_all(
                    Person(
                        email=f"bench{i}@exemple.fr",
                        first_name="Prénom",
                        last_name=f"Nom{i}",
                        department=f"Service {i % 9}",
                        site=f"Site {i % 4}",
                        # Half are linked already; the others are found by e-mail.
                        mattermost_user_id=uid if i % 2 else None,
                    )
                    for i, uid in enumerate(user_ids)
                )
            with MattermostClient(sandbox.url, sandbox.admin_token) as mm:
                with transaction(sessions) as session:
                    first = take_snapshot(session, mm, settings)
                frozen.advance(dt.timedelta(days=1))
                with transaction(sessions) as session:
                    second = take_snapshot(session, mm, settings)
            engine.dispose()
    finally:
        sandbox.stop()
        clock.reset()
    naive = 1 + math.ceil((people + 1) / 200) + 2 * people + 1 + first.channels
    return [
        Figure(NAME, f"requests, first snapshot of {people:,} people", first.requests,
               first.minimum_requests, "fewest possible", "requests"),
        Figure(NAME, f"requests, next day's snapshot of {people:,} people", second.requests,
               second.minimum_requests, "fewest possible", "requests"),
        Figure(NAME, "requests against one call per person and per status", first.requests,
               naive, "naive per-person reads", "requests"),
        Figure(NAME, f"posts stored by the first snapshot ({first.channels} channels)",
               first.posts_fetched, math.ceil(people / 10), "posts written", "posts"),
    ]  # fmt: skip
