"""The launch at a glance, from Envol's own records: ``/envol status`` and ``/envol wave``.

Cheap reads only (a few aggregate queries, no call to Mattermost), so a slash command can
answer within its deadline. The survey score is the surveys capability's one formula.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.cohorts.models import CohortMember, Wave
from plugin.people.models import Person, PersonStatus
from plugin.support.models import SupportTicket, TicketStatus
from plugin.surveys.service import (
    CohortSurveyResult,
    SurveyScore,
    results_per_cohort,
    survey_score,
)


@dataclass(frozen=True)
class TicketCounts:
    """Support requests by where they stand."""

    waiting: int  # open, or taken by an animator and not yet answered
    answered: int
    resolved: int
    self_served: int  # closed by a FAQ suggestion


@dataclass(frozen=True)
class LaunchStatus:
    active: int  # people of the roster still with the company
    joined: int  # of whom on Mattermost
    waves: Mapping[str, int]  # wave status -> number of waves
    tickets: TicketCounts
    survey: SurveyScore

    @property
    def join_rate(self) -> int:
        """Percentage of active people on Mattermost, rounded."""
        return round(100 * self.joined / self.active) if self.active else 0


def launch_status(session: Session) -> LaunchStatus:
    """People, waves, support requests and the launch survey, counted."""
    active = Person.status == PersonStatus.ACTIVE
    people = session.scalar(select(func.count(Person.id)).where(active)) or 0
    joined = (
        session.scalar(
            select(func.count(Person.id)).where(active, Person.mattermost_user_id.is_not(None))
        )
        or 0
    )
    waves = {
        str(status.value): count
        for status, count in session.execute(
            select(Wave.status, func.count(Wave.id)).group_by(Wave.status)
        ).tuples()
    }
    by_status: dict[TicketStatus, int] = dict(
        session.execute(
            select(SupportTicket.status, func.count(SupportTicket.id)).group_by(
                SupportTicket.status
            )
        )
        .tuples()
        .all()
    )
    tickets = TicketCounts(
        waiting=by_status.get(TicketStatus.OPEN, 0) + by_status.get(TicketStatus.TAKEN, 0),
        answered=by_status.get(TicketStatus.ANSWERED, 0),
        resolved=by_status.get(TicketStatus.RESOLVED, 0),
        self_served=by_status.get(TicketStatus.SELF_SERVED, 0),
    )
    return LaunchStatus(people, joined, waves, tickets, survey_score(session))


@dataclass(frozen=True)
class WaveOverview:
    name: str
    status: str
    members: int
    opened: dt.date | None
    survey_score: float | None
    # Per cohort, only with the cohorts that answered; filled when one wave is asked for.
    cohorts: tuple[CohortSurveyResult, ...] = ()


def waves_overview(session: Session, name: str = "") -> list[WaveOverview]:
    """Every wave in launch order, or the one named ``name`` (any case) with its survey
    results per cohort; an empty list when there is no such wave."""
    query = select(Wave).order_by(Wave.position, Wave.id)
    if name:
        query = query.where(func.lower(Wave.name) == name.lower())
    members = dict(
        session.execute(
            select(CohortMember.cohort_id, func.count(CohortMember.id)).group_by(
                CohortMember.cohort_id
            )
        )
        .tuples()
        .all()
    )
    overviews = []
    for wave in session.scalars(query):
        cohorts: tuple[CohortSurveyResult, ...] = ()
        if name:
            cohorts = tuple(r for r in results_per_cohort(session, wave.id) if r.respondents)
        overviews.append(
            WaveOverview(
                name=wave.name,
                status=wave.status.value,
                members=members.get(wave.cohort_id, 0),
                opened=wave.opened_at.date() if wave.opened_at else None,
                survey_score=survey_score(session, wave_id=wave.id).score,
                cohorts=cohorts,
            )
        )
    return overviews
