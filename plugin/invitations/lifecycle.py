"""The invitation lifecycle: the allowed transitions, each one written to the audit trail.

    planned ─► sent ─► reminded ─► joined ─► activated
       │         │         │         ▲
       │         └─────────┴──► expired ──┘ (a late arrival still counts)
       └──► failed (reason) ──► planned / sent / reminded (retry-failed: back where it
                                 failed) or joined
    any state before joined ──► opted_out

``transition`` is the one writer of ``Invitation.state``: it refuses a move the diagram does not
allow (a bug, not a user error) and records ``invitation.<state>`` with the old state, the
strategy and the reason, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, func, update
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.service import record
from plugin.delivery.leases import lease_is_free
from plugin.delivery.outbox import scrub
from plugin.invitations.models import Invitation, InvitationState, InvitationStrategy

S = InvitationState

ALLOWED: dict[InvitationState, frozenset[InvitationState]] = {
    S.PLANNED: frozenset({S.SENT, S.JOINED, S.FAILED, S.OPTED_OUT}),
    S.SENT: frozenset({S.REMINDED, S.JOINED, S.EXPIRED, S.FAILED, S.OPTED_OUT}),
    S.REMINDED: frozenset({S.REMINDED, S.JOINED, S.EXPIRED, S.FAILED, S.OPTED_OUT}),
    S.JOINED: frozenset({S.ACTIVATED}),
    S.ACTIVATED: frozenset(),
    S.EXPIRED: frozenset({S.JOINED, S.OPTED_OUT, S.PLANNED}),
    S.FAILED: frozenset({S.PLANNED, S.SENT, S.REMINDED, S.JOINED, S.OPTED_OUT}),
    S.OPTED_OUT: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A programming error: the lifecycle does not allow this move."""


def transition(
    session: Session,
    invitation: Invitation,
    new_state: InvitationState,
    *,
    actor: str = "envol",
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    old = invitation.state
    reason = scrub(reason)
    if new_state not in ALLOWED[old]:
        raise IllegalTransition(f"invitation {invitation.id}: {old.value} → {new_state.value}")
    now = clock.now()
    invitation.state = new_state
    if new_state == S.SENT:
        invitation.sent_at = invitation.sent_at or now
    elif new_state == S.REMINDED:
        invitation.reminded_at = now
    elif new_state == S.JOINED:
        invitation.joined_at = invitation.joined_at or now
    elif new_state == S.ACTIVATED:
        invitation.activated_at = now
    elif new_state in (S.EXPIRED, S.FAILED, S.OPTED_OUT):
        invitation.ended_at = now
        invitation.due_at = None
    if new_state == S.FAILED:
        invitation.failure_reason = reason
    elif old == S.FAILED or new_state == S.PLANNED:
        invitation.failure_reason = ""
        invitation.ended_at = None
    _audit_move(
        session, invitation.id, old, new_state, invitation, actor=actor, reason=reason,
        details=details,
    )  # fmt: skip


def _audit_move(
    session: Session,
    invitation_id: int,
    old: InvitationState,
    new_state: InvitationState,
    row: Any,
    *,
    actor: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """The audit entry of a move; ``row`` is the loaded invitation or the row a statement
    returned: its ``wave_id``, ``person_id`` and ``strategy`` go into the details."""
    strategy = row.strategy
    record(
        session,
        actor=actor,
        action=f"invitation.{new_state.value}",
        subject_type="invitation",
        subject_id=invitation_id,
        reason=reason,
        details={
            "from": old.value,
            "wave_id": row.wave_id,
            "person_id": row.person_id,
            "strategy": strategy.value if strategy else None,
            **(details or {}),
        },
    )


_INVITATIONS = cast(Table, Invitation.__table__)


@functools.cache
def _activate_held() -> Update:
    """joined → activated on a row ``held_by`` still holds (its lease renewed, as ``still_mine``
    does), nothing left due; returns what the audit entry and the follow-up need. Built once:
    it runs once per person who arrives."""
    table = _INVITATIONS.c
    return (
        update(_INVITATIONS)
        .where(
            table.id == bindparam("held_id"),
            table.lease_owner == bindparam("held_by"),
            table.state == InvitationState.JOINED,
        )
        .values(
            {
                table.state: InvitationState.ACTIVATED,
                table.activated_at: bindparam("now"),
                table.attempts: 0,
                table.last_error: "",
                table.due_at: None,
                table.lease_expires_at: bindparam("held_until"),
            }
        )
        .returning(table.wave_id, table.person_id, table.strategy, table.joined_at)
    )


def activate_held(
    session: Session,
    invitation_id: int,
    owner: str,
    lease_until: dt.datetime,
    *,
    actor: str = "envol",
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> Any | None:
    """``transition`` to ``activated`` (attempts and error reset, nothing due) of a ``joined``
    invitation that ``owner`` still holds, in one statement instead of a lease check, a load
    and a flush; audited like ``transition``. Returns the row's ``wave_id``, ``person_id``,
    ``strategy`` and ``joined_at``, or None when nothing was written: the lease was lost, or
    the row is not ``joined`` (then ``transition`` on the loaded row says why)."""
    now = clock.now()
    reason = scrub(reason)
    row = session.execute(
        _activate_held(),
        {"held_id": invitation_id, "held_by": owner, "held_until": lease_until, "now": now},
    ).first()
    if row is None:
        return None
    _audit_move(
        session, invitation_id, InvitationState.JOINED, InvitationState.ACTIVATED, row,
        actor=actor, reason=reason, details=details,
    )  # fmt: skip
    return row


@functools.cache
def _first_send() -> Update:
    """planned → sent of a row never sent before (no ``sent_at``, no reminder), the strategy
    kept if set, attempts and error reset, the first reminder scheduled; returns what the
    audit entry needs."""
    table = _INVITATIONS.c
    return (
        update(_INVITATIONS)
        .where(
            table.id == bindparam("invitation_id"),
            table.state == InvitationState.PLANNED,
            table.sent_at.is_(None),
            table.reminders_sent == 0,
        )
        .values(
            {
                table.state: InvitationState.SENT,
                table.sent_at: bindparam("now"),
                table.strategy: func.coalesce(
                    table.strategy, bindparam("strategy", type_=table.strategy.type)
                ),
                table.attempts: 0,
                table.last_error: "",
                table.due_at: bindparam("first_reminder_at"),
            }
        )
        .returning(table.wave_id, table.person_id, table.strategy)
    )


def first_send(
    session: Session,
    invitation_id: int,
    strategy: InvitationStrategy,
    first_reminder_at: dt.datetime,
    *,
    now: dt.datetime,
    actor: str = "envol",
) -> bool:
    """The invitation e-mail went out: ``transition`` to ``sent`` of a ``planned`` row never
    sent before, with the bookkeeping of a successful send (strategy set if unset, attempts and
    error reset, ``due_at`` at the first reminder), in one statement instead of a load and a
    flush; audited as ``transition`` does. False when the row is not in that case: nothing
    written, the caller takes the general way."""
    row = session.execute(
        _first_send(),
        {
            "invitation_id": invitation_id,
            "now": now,
            "strategy": strategy,
            "first_reminder_at": first_reminder_at,
        },
    ).first()
    if row is None:
        return False
    _audit_move(
        session, invitation_id, InvitationState.PLANNED, InvitationState.SENT, row, actor=actor
    )
    return True


def transition_if(
    session: Session,
    invitation_id: int,
    from_states: tuple[InvitationState, ...],
    new_state: InvitationState,
    *,
    values: dict[str, Any] | None = None,
    require_free_lease: bool = True,
    actor: str = "envol",
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> bool:
    """Compare-and-set: move the row only if it is still in one of ``from_states`` (and, by
    default, nobody holds its lease). For writers that do not hold a lease (join detection),
    so that two of them running at once (a duplicate beat) move and audit a row once."""
    now = clock.now()
    reason = scrub(reason)
    for old in from_states:
        if new_state not in ALLOWED[old]:
            raise IllegalTransition(f"invitation {invitation_id}: {old.value} → {new_state.value}")
    stamps: dict[str, Any] = {"state": new_state, "updated_at": now}
    if new_state == S.JOINED:
        stamps["joined_at"] = now
    condition = [Invitation.id == invitation_id, Invitation.state.in_(from_states)]
    if require_free_lease:
        condition.append(lease_is_free(Invitation, now))
    result: Any = session.execute(
        update(Invitation)
        .where(*condition)
        .values(**stamps, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        return False
    row = session.get(Invitation, invitation_id)
    if row is not None:
        session.refresh(row)
    record(
        session,
        actor=actor,
        action=f"invitation.{new_state.value}",
        subject_type="invitation",
        subject_id=invitation_id,
        reason=reason,
        details={
            "wave_id": row.wave_id if row else None,
            "person_id": row.person_id if row else None,
            **(details or {}),
        },
    )
    return True
