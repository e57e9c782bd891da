"""This capability's eraser for ``people forget`` (see ``plugin/people/forget.py``).

Daily per-person rows are deleted; the group aggregates stay (anonymous counts). The posts seen
from the person's Mattermost account are forgotten too, so they leave the next snapshots.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlalchemy.orm import Session

from plugin.cohorts.forget import affected_rows
from plugin.metrics.models import ObservedPost, PersonSnapshot

if TYPE_CHECKING:
    from plugin.people.forget import ForgetSubject


def erase_metrics(session: Session, subject: ForgetSubject) -> dict[str, int]:
    counts: dict[str, int] = {}
    if subject.person_id is not None:
        counts["daily adoption rows deleted"] = affected_rows(
            session.execute(
                delete(PersonSnapshot).where(PersonSnapshot.person_id == subject.person_id)
            )
        )
    if subject.mattermost_user_id:
        counts["observed posts forgotten"] = affected_rows(
            session.execute(
                delete(ObservedPost).where(ObservedPost.user_id == subject.mattermost_user_id)
            )
        )
    return counts
