"""This capability's eraser for ``people forget`` (see ``plugin/erasure.py``).

Daily per-person rows are deleted; the group aggregates stay (anonymous counts). The posts seen
from the person's Mattermost account are forgotten too, so they leave the next snapshots.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from plugin.erasure import ForgetSubject, affected_rows, erases
from plugin.metrics.models import ObservedPost, PersonSnapshot


@erases("metrics_person_snapshot", "metrics_observed_post")
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
