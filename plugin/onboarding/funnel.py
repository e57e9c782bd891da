"""The funnel of a wave, or of every wave: invited, reminded, joined, activated, profile
complete, with failures, uncertain sends and how long the rest will take (``envol invitations
status``). Onboarding's, as it ends where onboarding does: at a complete profile.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from plugin.cohorts.models import Wave
from plugin.delivery.models import OutboundMessage, OutboundState
from plugin.errors import EnvolError
from plugin.invitations.failure_reasons import NO_REASON
from plugin.invitations.models import Invitation, InvitationState, InvitationStrategy
from plugin.invitations.strategies import DurationEstimate, estimate_duration
from plugin.onboarding.models import ProfileFollowUp
from plugin.settings import RuntimeSettings


@dataclass
class Funnel:
    wave: str | None
    planned: int = 0
    sent: int = 0
    reminded: int = 0
    joined: int = 0
    activated: int = 0
    profile_complete: int = 0
    expired: int = 0
    opted_out: int = 0
    failed: int = 0
    waiting_to_send: int = 0
    uncertain: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_strategy: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, int]] = field(default_factory=list)
    estimate: DurationEstimate | None = None


def funnel(session: Session, runtime: RuntimeSettings, wave_name: str | None = None) -> Funnel:
    """The invitation funnel, cumulative (``joined`` counts everyone who got that far)."""
    wave_id = None
    if wave_name is not None:
        wave_id = session.scalar(select(Wave.id).where(Wave.name == wave_name))
        if wave_id is None:
            raise EnvolError(f"no wave named {wave_name!r}; `envol waves list` shows them.")
    scope = [Invitation.wave_id == wave_id] if wave_id is not None else []
    result = Funnel(wave=wave_name)

    def reached(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    rows = session.execute(
        select(
            Invitation.state,
            Invitation.strategy,
            func.count(),
            reached(Invitation.sent_at.is_not(None)),
            reached(Invitation.reminders_sent > 0),
            reached(Invitation.joined_at.is_not(None)),
            reached(Invitation.activated_at.is_not(None)),
        )
        .where(*scope)
        .group_by(Invitation.state, Invitation.strategy)
    ).all()
    states: Counter[str] = Counter()
    strategies: Counter[str] = Counter()
    for state, strategy, count, sent, reminded, joined, activated in rows:
        result.planned += count
        result.sent += int(sent or 0)
        result.reminded += int(reminded or 0)
        result.joined += int(joined or 0)
        result.activated += int(activated or 0)
        states[state.value] += count
        if strategy is not None:
            strategies[strategy.value] += count
    result.by_state = dict(states)
    result.by_strategy = dict(strategies)
    result.expired = states[InvitationState.EXPIRED.value]
    result.opted_out = states[InvitationState.OPTED_OUT.value]
    result.failed = states[InvitationState.FAILED.value]
    result.waiting_to_send = states[InvitationState.PLANNED.value]
    result.profile_complete = (
        session.scalar(
            select(func.count(ProfileFollowUp.id))
            .join(Invitation, Invitation.person_id == ProfileFollowUp.person_id)
            .where(ProfileFollowUp.complete.is_(True), *scope)
        )
        or 0
    )
    result.failures = [
        (reason or NO_REASON, count)
        for reason, count in session.execute(
            select(Invitation.failure_reason, func.count())
            .where(Invitation.state == InvitationState.FAILED, *scope)
            .group_by(Invitation.failure_reason)
            .order_by(func.count().desc())
        ).all()
    ]
    uncertain = select(func.count(OutboundMessage.id)).where(
        OutboundMessage.state == OutboundState.UNCERTAIN
    )
    if wave_id is not None:
        uncertain = uncertain.join(
            Invitation, Invitation.id == OutboundMessage.invitation_id
        ).where(Invitation.wave_id == wave_id)
    result.uncertain = session.scalar(uncertain) or 0
    strategy = InvitationStrategy(runtime.invitation_strategy)
    result.estimate = estimate_duration(strategy, result.waiting_to_send)
    return result
