"""This capability's eraser for ``people forget`` (see ``plugin/people/forget.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from plugin.cohorts.forget import affected_rows
from plugin.delivery.models import OutboundMessage
from plugin.invitations.models import Invitation
from plugin.onboarding.models import ProfileFollowUp

if TYPE_CHECKING:
    from plugin.people.forget import ForgetSubject


def erase_invitations_and_onboarding(session: Session, subject: ForgetSubject) -> dict[str, int]:
    """Invitations are kept anonymous (state and dates feed the funnel); the record of what was
    sent to the person and their profile follow-up are deleted."""
    if subject.person_id is None:
        return {}
    pid = subject.person_id
    return {
        "messages sent deleted": affected_rows(
            session.execute(delete(OutboundMessage).where(OutboundMessage.person_id == pid))
        ),
        "profile follow-ups deleted": affected_rows(
            session.execute(delete(ProfileFollowUp).where(ProfileFollowUp.person_id == pid))
        ),
        "invitations anonymised": affected_rows(
            session.execute(
                update(Invitation)
                .where(Invitation.person_id == pid)
                .values(person_id=None, mattermost_user_id=None, last_error="")
            )
        ),
    }
