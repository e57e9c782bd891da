"""Planning, retries and opt-outs: what the CLI and other capabilities call (the funnel, from
the invitation to a complete profile, is onboarding's: ``plugin/onboarding/funnel.py``).

``plan_wave_invitations`` is the hand-off point from the waves service: it creates one
``planned`` invitation per person handed over for the wave (``WaveHandoff``), due at once, and
is idempotent (the unique (person, wave) key; a second call creates nothing).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.service import record
from plugin.cohorts.models import Wave, WaveHandoff
from plugin.delivery.models import OutboundMessage, OutboundState
from plugin.errors import EnvolError
from plugin.invitations.failure_reasons import NO_REASON
from plugin.invitations.lifecycle import transition
from plugin.invitations.models import (
    AWAITING_STATES,
    Invitation,
    InvitationState,
)
from plugin.people.models import Person
from plugin.people.roster import normalise_email


def plan_wave_invitations(session: Session, wave_id: int, *, actor: str = "envol") -> int:
    """One ``planned`` invitation per person handed over for the wave and not yet planned.

    Runs in the caller's transaction (the wave launch), so the hand-off and the plan commit
    together. Returns how many invitations were created now.
    """
    already = select(Invitation.person_id).where(Invitation.wave_id == wave_id)
    person_ids = sorted(
        session.scalars(
            select(WaveHandoff.person_id).where(
                WaveHandoff.wave_id == wave_id, WaveHandoff.person_id.not_in(already)
            )
        )
    )
    if not person_ids:
        return 0
    now = clock.now()
    rows = [
        {
            "person_id": pid,
            "wave_id": wave_id,
            "state": InvitationState.PLANNED,
            "due_at": now,
            "attempts": 0,
            "reminders_sent": 0,
            "last_error": "",
            "failure_reason": "",
            "created_at": now,
            "updated_at": now,
        }
        for pid in person_ids
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(Invitation), rows[start : start + 5000])
    # One audit event for the batch: the rows are born planned; later moves are audited one by one.
    record(
        session,
        actor=actor,
        action="invitation.planned",
        subject_type="wave",
        subject_id=wave_id,
        details={"invitations": len(rows)},
    )
    return len(rows)


# --------------------------------------------------------------------------- retries, opt-outs


@dataclass
class RetryPlan:
    invitation_ids: list[int]
    reasons: dict[str, int]


def retry_failed(
    session: Session, *, actor: str, wave_name: str | None = None, dry_run: bool = False
) -> RetryPlan:
    """Put failed invitations back to ``planned``, due now, with their failed sends cleared.

    For after the cause was fixed (the team was full, the relay refused the login…).
    """
    query = select(Invitation).where(Invitation.state == InvitationState.FAILED)
    if wave_name is not None:
        query = query.join(Wave, Wave.id == Invitation.wave_id).where(Wave.name == wave_name)
    failed = list(session.scalars(query.order_by(Invitation.id)))
    plan = RetryPlan(
        invitation_ids=[i.id for i in failed],
        reasons=dict(Counter(i.failure_reason or NO_REASON for i in failed)),
    )
    if dry_run or not failed:
        return plan
    now = clock.now()
    ids = plan.invitation_ids
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.invitation_id.in_(chunk),
                OutboundMessage.state == OutboundState.FAILED,
            )
            .values(state=OutboundState.RETRY)
            .execution_options(synchronize_session=False)
        )
    for invitation in failed:
        # Back where it failed: a failed reminder resumes at the reminders, not anew.
        target = InvitationState.PLANNED
        if invitation.sent_at is not None:
            target = InvitationState.REMINDED if invitation.reminders_sent else InvitationState.SENT
        transition(
            session, invitation, target, actor=actor, reason=f"retry: {invitation.failure_reason}"
        )
        invitation.attempts = 0
        invitation.due_at = now
        invitation.lease_owner = None
        invitation.lease_expires_at = None
    return plan


def opt_out(session: Session, email: str, *, actor: str, reason: str = "") -> int:
    """Stop inviting and reminding this person (every wave); returns invitations changed."""
    person = session.scalar(select(Person).where(Person.email == normalise_email(email)))
    if person is None:
        raise EnvolError("nobody with this e-mail address in the roster; check the spelling.")
    changed = 0
    for invitation in session.scalars(
        select(Invitation).where(
            Invitation.person_id == person.id,
            Invitation.state.in_(
                (*AWAITING_STATES, InvitationState.EXPIRED, InvitationState.FAILED)
            ),
        )
    ):
        transition(
            session,
            invitation,
            InvitationState.OPTED_OUT,
            actor=actor,
            reason=reason or "opted out",
        )
        changed += 1
    return changed


def overdue_leases(session: Session, now: dt.datetime | None = None) -> int:
    """Rows whose lease expired (a worker died holding them): for ``status``."""
    moment = now or clock.now()
    return (
        session.scalar(
            select(func.count(Invitation.id)).where(
                Invitation.lease_expires_at.is_not(None), Invitation.lease_expires_at < moment
            )
        )
        or 0
    )
