"""One full cycle of invitations and onboarding, in the order a person goes through them."""

from __future__ import annotations

from dataclasses import dataclass, field

from plugin.invitations.detection import DetectionReport, detect_arrivals
from plugin.invitations.dispatcher import DispatchReport
from plugin.invitations.drain import DRAIN_BUDGET_SECONDS, drain, run_dispatch
from plugin.invitations.environment import CycleEnvironment
from plugin.onboarding.arrival import ArrivalReport, process_arrivals
from plugin.onboarding.digest import DigestReport, send_manager_digests
from plugin.onboarding.followup import FollowUpReport, follow_up_profiles


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
