"""One full cycle of invitations and onboarding, in the order a person goes through them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from plugin.invitations.detection import DetectionReport, detect_arrivals
from plugin.invitations.dispatcher import DispatchReport, dispatch_invitations
from plugin.invitations.environment import CycleEnvironment
from plugin.onboarding.arrival import ArrivalReport, process_arrivals
from plugin.onboarding.digest import DigestReport, send_manager_digests
from plugin.onboarding.followup import FollowUpReport, follow_up_profiles

# A task stops draining after this long and leaves the rest to the next beat, so a long wave
# never keeps one task running for minutes (a deploy would have to kill it mid-send).
DRAIN_BUDGET_SECONDS = 45.0


@dataclass
class CycleReport:
    dispatch: DispatchReport = field(default_factory=DispatchReport)
    detection: DetectionReport = field(default_factory=DetectionReport)
    arrivals: list[ArrivalReport] = field(default_factory=list)
    follow_ups: list[FollowUpReport] = field(default_factory=list)
    digests: DigestReport | None = None

    @property
    def welcomed(self) -> int:
        return sum(a.welcomed for a in self.arrivals)

    @property
    def activated(self) -> int:
        return sum(a.activated for a in self.arrivals)

    @property
    def nudged(self) -> int:
        return sum(f.nudged for f in self.follow_ups)


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
    total = DispatchReport()
    for report in drain(lambda: dispatch_invitations(env), lambda r: r.claimed, budget):
        total.merge(report)
    return total


def run_onboarding(env: CycleEnvironment, budget: float = DRAIN_BUDGET_SECONDS) -> CycleReport:
    """Detection, arrivals and profile follow-ups (not the invitations, not the digest)."""
    report = CycleReport()
    report.detection = detect_arrivals(env)
    report.arrivals = drain(lambda: process_arrivals(env), lambda r: r.claimed, budget)
    report.follow_ups = drain(lambda: follow_up_profiles(env), lambda r: r.checked, budget)
    return report


def run_once(env: CycleEnvironment, *, digests: bool = True) -> CycleReport:
    """Everything once, as ``envol onboarding run-once`` does: send, detect, welcome, nudge."""
    try:
        dispatch = run_dispatch(env)
        report = run_onboarding(env)
        report.dispatch = dispatch
        if digests:
            report.digests = send_manager_digests(env)
        return report
    finally:
        env.close()
