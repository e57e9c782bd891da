"""This capability's eraser for ``people forget`` (see ``plugin/erasure.py``)."""

from __future__ import annotations

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from plugin.erasure import ForgetSubject, affected_rows, erases
from plugin.onboarding.models import ProfileFollowUp


@erases("profile_follow_up")
def erase_profile_follow_ups(session: Session, subject: ForgetSubject) -> dict[str, int]:
    """The person's profile follow-up is deleted."""
    matches = []
    if subject.person_id is not None:
        matches.append(ProfileFollowUp.person_id == subject.person_id)
    if subject.mattermost_user_id:
        matches.append(ProfileFollowUp.mattermost_user_id == subject.mattermost_user_id)
    if not matches:
        return {}
    return {
        "profile follow-ups deleted": affected_rows(
            session.execute(delete(ProfileFollowUp).where(or_(*matches)))
        )
    }
