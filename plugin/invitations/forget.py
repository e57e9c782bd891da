"""This capability's eraser for ``people forget`` (see ``plugin/erasure.py``)."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from plugin.delivery.models import OutboundMessage
from plugin.erasure import ForgetSubject, affected_rows, erases
from plugin.invitations.models import Invitation


@erases("invitation", "outbound_message")
def erase_invitations(session: Session, subject: ForgetSubject) -> dict[str, int]:
    """Invitations are kept anonymous (state and dates feed the funnel); the record of what was
    sent to the person is deleted."""
    if subject.person_id is None:
        return {}
    pid = subject.person_id
    return {
        "messages sent deleted": affected_rows(
            session.execute(delete(OutboundMessage).where(OutboundMessage.person_id == pid))
        ),
        "invitations anonymised": affected_rows(
            session.execute(
                update(Invitation)
                .where(Invitation.person_id == pid)
                .values(person_id=None, mattermost_user_id=None, last_error="")
            )
        ),
    }
