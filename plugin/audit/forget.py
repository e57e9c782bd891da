"""The audit trail's eraser for ``people forget`` (see ``plugin/erasure.py``)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from plugin.audit.models import AuditEvent
from plugin.erasure import FORGOTTEN_ACTOR, ForgetSubject, affected_rows, erases


@erases("audit_event")
def erase_audit_target(session: Session, subject: ForgetSubject) -> dict[str, int]:
    """Events stay: the trail records what happened, never who a forgotten person was. Their
    author (``actor``) is anonymised with every ``ACTOR`` column by ``erase_everywhere``; here,
    the events whose target is the person's Mattermost account or username."""
    names = sorted(subject.actor_names)
    if not names:
        return {}
    return {
        "audit events anonymised (target)": affected_rows(
            session.execute(
                update(AuditEvent)
                .where(AuditEvent.subject_id.in_(names))
                .values(subject_id=FORGOTTEN_ACTOR)
            )
        )
    }
