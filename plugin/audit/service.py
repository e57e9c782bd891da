"""Writing to and reading the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.models import AuditEvent


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str = "",
    subject_id: str | int = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction: it exists exactly when the change does.

    ``details`` must not hold personal data that ``people forget`` could not reach (no e-mail
    addresses); refer to people by their Envol id.
    """
    event = AuditEvent(
        occurred_at=clock.now(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        reason=reason,
        details=details or {},
    )
    session.add(event)
    return event


def recent(session: Session, limit: int = 50, action: str | None = None) -> Sequence[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    return session.scalars(query).all()


def heartbeat_seen(session: Session, note: str) -> bool:
    """Whether a worker recorded the heartbeat ``note`` (``envol tasks ping --wait``)."""
    found = session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == "worker.heartbeat", AuditEvent.reason == note
        )
    )
    return found is not None
