"""Send what is due until nothing is left or the time budget is spent (the beat's minute tick,
and ``envol onboarding run-once``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from plugin.invitations.dispatcher import DispatchReport, dispatch_invitations
from plugin.invitations.environment import CycleEnvironment

# A task stops draining after this long and leaves the rest to the next beat, so a long wave
# never keeps one task running for minutes (a deploy would have to kill it mid-send).
DRAIN_BUDGET_SECONDS = 45.0


def drain(step: Callable[[], Any], claimed: Callable[[Any], int], budget: float) -> list[Any]:
    """Run ``step`` until it claims nothing or the time budget is spent."""
    reports = []
    deadline = time.monotonic() + budget
    while True:
        report = step()
        reports.append(report)
        if not claimed(report) or time.monotonic() > deadline:
            return reports


def run_dispatch(env: CycleEnvironment, budget: float = DRAIN_BUDGET_SECONDS) -> DispatchReport:
    """The due invitations and reminders, claimed and sent batch after batch."""
    total = DispatchReport()
    for report in drain(lambda: dispatch_invitations(env), lambda r: r.claimed, budget):
        total.merge(report)
    return total
