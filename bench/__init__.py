"""Envol's benchmarks. Each figure is a ratio against a baseline measured in the same run.

A benchmark module exposes ``run(quick: bool) -> list[Figure]``; ``bench/__main__.py`` lists the
modules explicitly, runs them, prints one table and writes ``bench/results.json``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

POSTGRES_ADMIN_URL = os.environ.get(
    "ENVOL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass(frozen=True)
class Figure:
    """One measured figure next to its baseline; ``ratio = measured / baseline``.

    ``computed`` says the baseline is a computed bound (a formula, e.g. the fewest requests the
    API allows), not a measurement of the same run. ``goal_max`` / ``goal_min`` are the ratio
    the issue asks for. A "never twice" figure is a ``count``: ``measured`` is the number of
    duplicates, printed as ``duplicates = N`` (``count_name``), never as a ratio (501 / 500
    rounds to 1.00). Its goal is 0, or, where the documented guarantee allows copies, the
    bound it documents: ``goal_max``, also the ``baseline`` (a computed bound, ``computed``).
    ``detail`` is printed after the count (the copies and distinct messages it comes from).
    """

    benchmark: str
    what: str
    measured: float
    baseline: float
    baseline_what: str
    unit: str
    computed: bool = False
    goal_max: float | None = None
    goal_min: float | None = None
    count: bool = False
    count_name: str = "duplicates"
    detail: str = ""

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline if self.baseline else float("inf")

    @property
    def goal(self) -> str:
        if self.count:
            return "0" if self.goal_max is None else f"≤ {self.goal_max:g}"
        if self.goal_max is not None:
            return f"≤ {self.goal_max:g}×"
        if self.goal_min is not None:
            return f"≥ {self.goal_min:g}×"
        return ""

    @property
    def met(self) -> bool | None:
        """Whether the goal is met; None when the figure has no goal."""
        if self.count:
            return self.measured <= (self.goal_max or 0)
        if self.goal_max is not None:
            return self.ratio <= self.goal_max
        if self.goal_min is not None:
            return self.ratio >= self.goal_min
        return None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": None if self.count else self.ratio, "met": self.met}


def duplicates(benchmark: str, what: str, copies: int, distinct: int, unit: str) -> Figure:
    """A "never twice" figure: how many copies beyond the distinct ones (0 is the goal)."""
    return Figure(
        benchmark,
        what,
        copies - distinct,
        distinct,
        f"{copies:,} copies of {distinct:,} distinct",
        unit,
        count=True,
    )


def bounded_duplicates(
    benchmark: str, what: str, copies: int, distinct: int, unit: str, bound: int, why: str
) -> Figure:
    """A "never twice" figure whose documented guarantee allows up to ``bound`` copies (e.g.
    one e-mail a connection a kill, same Message-ID): the count is checked against that
    computed bound, ``why`` being its formula, and printed as a count, not as a ratio."""
    return Figure(
        benchmark,
        what,
        copies - distinct,
        bound,
        why,
        unit,
        computed=True,
        goal_max=bound,
        count=True,
        detail=f"{copies:,} copies of {distinct:,} distinct",
    )


# The team and channels of the worker benchmarks: the manifest's default TeamName, because
# their sandbox saves no plugin settings (what the System Console would).
WORKER_TEAM = "entreprise"
WORKER_CHANNELS = ["annonces", "entraide", "vague-retours"]


def worker_team(sandbox: Any, max_users: int) -> dict[str, Any]:
    """The sandbox team a worker benchmark invites into, with its channels and ~support."""
    sandbox.patch_config(
        {
            "TeamSettings": {"MaxUsersPerTeam": max_users},
            "ServiceSettings": {"EnableEmailInvitations": True},
        }
    )
    team: dict[str, Any] = sandbox.create_team(
        WORKER_TEAM, "Entreprise", type="I", admin_id=sandbox.admin_user_id
    )
    for name in [*WORKER_CHANNELS, "support"]:
        sandbox.create_channel(team["id"], name)
    return team


@contextmanager
def throwaway_database(workdir: Path) -> Iterator[tuple[str, str]]:
    """(url, label): a throwaway PostgreSQL database if the server answers, else SQLite."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from plugin.db import make_engine

    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            reachable = True
    except OSError:
        reachable = False
    if not reachable:
        yield f"sqlite:///{workdir / 'envol.db'}", "SQLite"
        return
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"envol_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:  # a server that refuses us: the SQLite file will do
        admin.dispose()
        yield f"sqlite:///{workdir / 'envol.db'}", "SQLite"
        return
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", "PostgreSQL"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
