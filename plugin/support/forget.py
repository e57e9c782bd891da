"""This capability's eraser for ``people forget`` (see ``plugin/erasure.py``)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, or_, update
from sqlalchemy.orm import Session

from plugin.erasure import ForgetSubject, affected_rows, erases
from plugin.support.models import SupportFaqEntry, SupportTicket


@erases("support_ticket", "support_faq_entry")
def erase_support(session: Session, subject: ForgetSubject) -> dict[str, int]:
    """The person's requests are deleted (their words, whoever answered); where they helped as
    an animator, tickets and FAQ entries stay without their name."""
    counts: dict[str, int] = {}
    asked: list[ColumnElement[bool]] = []
    if subject.person_id is not None:
        asked.append(SupportTicket.person_id == subject.person_id)
    user_id = subject.mattermost_user_id
    if user_id:
        asked.append(SupportTicket.requester_user_id == user_id)
    if asked:
        counts["support requests deleted"] = affected_rows(
            session.execute(delete(SupportTicket).where(or_(*asked)))
        )
    if not user_id:
        return counts
    helped = 0
    for column in (
        SupportTicket.assignee_user_id,
        SupportTicket.answered_by,
        SupportTicket.resolved_by,
    ):
        helped += affected_rows(
            session.execute(update(SupportTicket).where(column == user_id).values({column: None}))
        )
    counts["support answers anonymised"] = helped
    counts["FAQ entries anonymised"] = affected_rows(
        session.execute(
            update(SupportFaqEntry)
            .where(SupportFaqEntry.created_by == user_id)
            .values(created_by="")
        )
    )
    return counts
