"""What a wave launch needs to know from above the waves: the announcement and preflight.

``plugin.cohorts.guards.check_wave_can_open`` holds the rules; it cannot read the campaign or
run preflight (both are built on the cohorts). ``launch_facts`` gathers them, once, for every
interface: ``envol waves launch`` and the console's waves page call it, then hand the result
to ``check_wave_can_open`` / ``launch_wave``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.campaigns.models import CampaignDelivery, CampaignStepRun, DeliveryStatus
from plugin.campaigns.plan import CampaignPlan, StepKind
from plugin.cohorts.guards import LaunchFacts
from plugin.preflight import PreflightReport, blocker_line

_PENDING = (DeliveryStatus.PLANNED, DeliveryStatus.SENDING)


def announcement_sent_at(session: Session, plan: CampaignPlan) -> tuple[str, dt.datetime | None]:
    """The plan's official announcement step (its key, "" when it has none) and when it
    finished going out: every message of it sent or settled, at least one sent (None: not yet).

    With several announcement steps, the first one in the plan is the one that counts."""
    steps = [step for step in plan.steps if step.kind == StepKind.ANNOUNCEMENT]
    if not steps:
        return "", None
    step = steps[0]
    key = plan.delivery_key(step)
    if session.get(CampaignStepRun, key) is None:
        return step.key, None
    counts = dict(
        session.execute(
            select(CampaignDelivery.status, func.count())
            .where(CampaignDelivery.step_key == key)
            .group_by(CampaignDelivery.status)
        )
        .tuples()
        .all()
    )
    sent = counts.get(DeliveryStatus.SENT, 0)
    if not sent or any(counts.get(status, 0) for status in _PENDING):
        return step.key, None
    last = session.scalar(
        select(func.max(CampaignDelivery.sent_at)).where(
            CampaignDelivery.step_key == key, CampaignDelivery.status == DeliveryStatus.SENT
        )
    )
    return step.key, last


def preflight_blockers(report: PreflightReport) -> tuple[str, ...]:
    """One "check: what to change" line per blocking problem of a preflight report (Phrases:
    a wave's refusal words them in its reader's language)."""
    return tuple(blocker_line(check) for check in report.blockers)


def launch_facts(
    session: Session, plan: CampaignPlan | None, preflight: PreflightReport | None
) -> LaunchFacts:
    """The facts ``check_wave_can_open`` needs. ``plan`` None: no campaign plan could be read
    (no announcement step); ``preflight`` None: preflight could not run."""
    step, sent_at = announcement_sent_at(session, plan) if plan is not None else ("", None)
    return LaunchFacts(
        announcement_sent_at=sent_at,
        announcement_step=step,
        preflight_blockers=preflight_blockers(preflight) if preflight is not None else (),
        preflight_ran=preflight is not None,
    )
