"""This capability's eraser for ``people forget`` (see ``plugin/erasure.py``)."""

from __future__ import annotations

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from plugin.cohorts.models import CohortMember, WaitlistRequest, WaveHandoff
from plugin.erasure import ForgetSubject, affected_rows, erases


@erases("cohort_member", "wave_handoff", "waitlist_request")
def erase_cohorts_and_waitlist(session: Session, subject: ForgetSubject) -> dict[str, int]:
    """Cohort memberships and wave hand-offs are deleted; waitlist requests are kept as
    anonymous rows (status and dates only) so that the waitlist's counts stay true."""
    counts: dict[str, int] = {}
    if subject.person_id is not None:
        counts["cohort memberships deleted"] = affected_rows(
            session.execute(delete(CohortMember).where(CohortMember.person_id == subject.person_id))
        )
        counts["wave hand-offs deleted"] = affected_rows(
            session.execute(delete(WaveHandoff).where(WaveHandoff.person_id == subject.person_id))
        )
    matches = WaitlistRequest.email == subject.email
    if subject.person_id is not None:
        matches = or_(matches, WaitlistRequest.person_id == subject.person_id)
    counts["waitlist requests anonymised"] = affected_rows(
        session.execute(
            update(WaitlistRequest)
            .where(matches)
            .values(email="", reason="", decision_note="", person_id=None)
        )
    )
    return counts
