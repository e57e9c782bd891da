"""The daily metrics snapshot: memory and time at a roster of 100,000 against 1,000, both
measured here (10,000 against 1,000 with --quick).

Memory is tracemalloc's peak during ``take_snapshot`` above what was allocated before it (the
"idle" process: imports, the sandbox's state, the database engine). The sandbox serves the
requests from a thread of the same process, so its transient allocations per request count too
(they do not grow with the roster: a page of 200 members, 1,000 users a request). One of them
is most of every figure: after a response werkzeug's server drains the socket with
``rfile.read(10_000_000)``, a 9.5 MiB buffer (every other ping shows it). The 1,000-person
baseline read 11.1 MiB in some runs and 13.9 in others, most likely as that buffer coincides or
not with a 1,000-user answer being parsed; the ratio moves with it. A streaming
snapshot keeps its peak flat (goal ≤ 1.5×); its time may grow linearly (goal ≤ 1.2 × the
roster ratio, 120× for 100 times the people).
"""

from __future__ import annotations

import datetime as dt
import gc
import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import insert

from bench import Figure
from bench.bench_metrics_requests import _populate
from plugin import clock
from plugin.db import make_engine, make_session_factory, transaction
from plugin.mattermost import MattermostClient
from plugin.metrics.service import take_snapshot
from plugin.models import metadata
from plugin.people.models import Person
from plugin.sandbox import Sandbox
from plugin.settings import runtime_settings_from_config

NAME = "metrics_snapshot"


def _measure(people: int) -> tuple[float, float]:
    """(seconds, MiB of peak above the allocations before) of one snapshot of ``people``."""
    settings = runtime_settings_from_config({})
    clock.set_source(clock.FrozenClock(dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)))
    sandbox = Sandbox.start(contract=False, user_limits=(people + 100, people + 100))
    try:
        user_ids = _populate(sandbox, people, settings.team_name)
        with tempfile.TemporaryDirectory() as workdir:
            engine = make_engine(f"sqlite:///{Path(workdir) / 'bench.db'}")
            metadata.create_all(engine)
            sessions = make_session_factory(engine)
            with transaction(sessions) as session:
                session.execute(
                    insert(Person),
                    [
                        {
                            "email": f"bench{i}@exemple.fr",
                            "first_name": "Prénom",
                            "last_name": f"Nom{i}",
                            "department": f"Service {i % 9}",
                            "site": f"Site {i % 4}",
                            "mattermost_user_id": uid if i % 2 else None,
                        }
                        for i, uid in enumerate(user_ids)
                    ],
                )
            del user_ids
            with MattermostClient(sandbox.url, sandbox.admin_token) as mm:
                mm.get_team_by_name(settings.team_name)  # warm: connection, driver, caches
                gc.collect()
                tracemalloc.start()
                idle = tracemalloc.get_traced_memory()[0]
                begin = time.perf_counter()
                with transaction(sessions) as session:
                    take_snapshot(session, mm, settings)
                elapsed = time.perf_counter() - begin
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            engine.dispose()
    finally:
        sandbox.stop()
        clock.reset()
    return elapsed, (peak - idle) / 2**20


def run(quick: bool) -> list[Figure]:
    small, big = (1_000, 10_000) if quick else (1_000, 100_000)
    small_seconds, small_mib = _measure(small)
    big_seconds, big_mib = _measure(big)
    scale = big // small
    return [
        Figure(NAME, f"memory above idle (tracemalloc peak), snapshot of {big:,} people",
               big_mib, small_mib, f"same, {small:,} people", "MiB", goal_max=1.5),
        Figure(NAME, f"time, snapshot of {big:,} people ({scale}× the people)", big_seconds,
               small_seconds, f"same, {small:,} people", "s", goal_max=1.2 * scale),
    ]  # fmt: skip
