"""Envol's benchmarks. Each figure is a ratio against a baseline measured in the same run.

A benchmark module exposes ``run(quick: bool) -> list[Figure]``; ``bench/__main__.py`` lists the
modules explicitly, runs them, prints one table and writes ``bench/results.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One measured figure next to its baseline; ``ratio = measured / baseline``."""

    benchmark: str
    what: str
    measured: float
    baseline: float
    baseline_what: str
    unit: str

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline if self.baseline else float("inf")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


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
