"""The launch team's word on a campaign step: approve it, or hold it back.

A step with no decision goes out on its date, as planned (the communication plan was validated
and is the team's plan). *Hold* stops a step that has not gone out yet: the dispatcher skips it
until it is approved; a step released more than the dispatcher's catch-up window after its date
is reported as missed rather than sent days late. *Approve* records the sign-off (who, when)
and lifts a hold. Both are refused once the step has gone out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.service import record
from plugin.campaigns.models import CampaignStepDecision, CampaignStepRun, StepDecision
from plugin.campaigns.plan import CampaignPlan, Step
from plugin.errors import EnvolError
from plugin.i18n import messages_of

# Refusals are worded in the reader's language (the console's person, the CLI's operator).
said = messages_of(Path(__file__).with_name("messages.yaml"))


@dataclass(frozen=True)
class StepDecisionView:
    decision: StepDecision
    decided_by: str
    reason: str


def _step(plan: CampaignPlan, step_key: str) -> Step:
    try:
        return plan.step(step_key)
    except KeyError:
        known = ", ".join(step.key for step in plan.steps)
        raise EnvolError(said("step.unknown", step=repr(step_key), known=known)) from None


def _refuse_if_gone_out(session: Session, plan: CampaignPlan, step: Step) -> None:
    run = session.get(CampaignStepRun, plan.delivery_key(step))
    if run is not None:
        raise EnvolError(
            said(
                "step.gone_out",
                step=repr(step.key),
                status=run.status.value,
                due=f"{run.due_at:%Y-%m-%d %H:%M}",
            )
        )


def _decide(
    session: Session,
    plan: CampaignPlan,
    step_key: str,
    decision: StepDecision,
    *,
    actor: str,
    reason: str,
) -> bool:
    step = _step(plan, step_key)
    _refuse_if_gone_out(session, plan, step)
    key = plan.delivery_key(step)
    row = session.get(CampaignStepDecision, key, with_for_update=True)
    if row is not None and row.decision == decision:
        return False
    if row is None:
        row = CampaignStepDecision(step_key=key, decision=decision, decided_by=actor)
        session.add(row)
    row.decision, row.decided_by, row.decided_at, row.reason = (
        decision,
        actor,
        clock.now(),
        reason,
    )
    record(
        session,
        actor=actor,
        action=f"campaign.step_{decision.value}",
        subject_type="step",
        subject_id=key,
        reason=reason,
    )
    session.flush()
    return True


def approve_step(
    session: Session, plan: CampaignPlan, step_key: str, *, actor: str, note: str = ""
) -> bool:
    """Sign a step off (and release it if it was held); False when it already was approved."""
    return _decide(session, plan, step_key, StepDecision.APPROVED, actor=actor, reason=note)


def hold_step(
    session: Session, plan: CampaignPlan, step_key: str, *, actor: str, reason: str
) -> bool:
    """Keep a step from going out until it is approved; needs a reason (audited)."""
    if not reason.strip():
        raise EnvolError(said("hold.no_reason"))
    return _decide(session, plan, step_key, StepDecision.HELD, actor=actor, reason=reason.strip())


def decisions(session: Session, plan: CampaignPlan) -> dict[str, StepDecisionView]:
    """Each decided step of ``plan``, by step key (not delivery key)."""
    prefix = f"{plan.name}/"
    rows = session.scalars(
        select(CampaignStepDecision).where(CampaignStepDecision.step_key.like(f"{prefix}%"))
    )
    return {
        row.step_key.removeprefix(prefix): StepDecisionView(
            row.decision, row.decided_by, row.reason
        )
        for row in rows
    }


def held_delivery_keys(session: Session, plan: CampaignPlan) -> set[str]:
    """The delivery keys the dispatcher must not plan now."""
    return {
        plan.delivery_key(plan.step(key))
        for key, view in decisions(session, plan).items()
        if view.decision == StepDecision.HELD and any(s.key == key for s in plan.steps)
    }
