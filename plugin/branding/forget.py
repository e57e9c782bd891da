"""This capability's eraser for ``people forget`` (see ``plugin/erasure.py``)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from plugin.branding.models import ThemeAssignment
from plugin.erasure import ForgetSubject, affected_rows, erases


@erases("theme_assignment")
def erase_theme_assignment(session: Session, subject: ForgetSubject) -> dict[str, int]:
    """The record of the theme Envol gave the person's account."""
    if not subject.mattermost_user_id:
        return {}
    return {
        "theme records deleted": affected_rows(
            session.execute(
                delete(ThemeAssignment).where(ThemeAssignment.user_id == subject.mattermost_user_id)
            )
        )
    }
