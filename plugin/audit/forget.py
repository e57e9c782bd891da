"""The audit trail's eraser for ``people forget`` (see ``plugin/erasure.py``)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from plugin.audit.models import AuditEvent
from plugin.erasure import ForgetSubject, affected_rows, erases

FORGOTTEN_ACTOR = "forgotten"


@erases("audit_event")
def erase_audit_actor(session: Session, subject: ForgetSubject) -> dict[str, int]:
    """What the person did through Envol stays in the trail, by a ``forgotten`` actor: the
    trail records what happened, never who a forgotten person was."""
    if not subject.mattermost_user_id:
        return {}
    return {
        "audit events anonymised": affected_rows(
            session.execute(
                update(AuditEvent)
                .where(AuditEvent.actor == subject.mattermost_user_id)
                .values(actor=FORGOTTEN_ACTOR)
            )
        )
    }
