"""This capability's eraser for ``people forget`` (see ``plugin/erasure.py``)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, or_
from sqlalchemy.orm import Session

from plugin.erasure import ForgetSubject, affected_rows, erases
from plugin.surveys.models import PollVote, SurveyDispatch, SurveyResponse


@erases("survey_dispatch", "survey_response", "poll_vote")
def erase_surveys(session: Session, subject: ForgetSubject) -> dict[str, int]:
    """The person's survey answers (with their comment), poll votes and the record of the
    survey sent to them are deleted: the results then count everyone else."""
    counts: dict[str, int] = {}
    answered: list[ColumnElement[bool]] = []
    if subject.person_id is not None:
        answered.append(SurveyResponse.person_id == subject.person_id)
        counts["surveys sent forgotten"] = affected_rows(
            session.execute(
                delete(SurveyDispatch).where(SurveyDispatch.person_id == subject.person_id)
            )
        )
    if subject.mattermost_user_id:
        answered.append(SurveyResponse.user_id == subject.mattermost_user_id)
        counts["poll votes deleted"] = affected_rows(
            session.execute(delete(PollVote).where(PollVote.user_id == subject.mattermost_user_id))
        )
    if answered:
        counts["survey answers deleted"] = affected_rows(
            session.execute(delete(SurveyResponse).where(or_(*answered)))
        )
    return counts
