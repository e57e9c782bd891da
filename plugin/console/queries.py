"""What the console's pages read, as typed results: the pages hold no SQL of their own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.cohorts.models import Wave, WaveStatus
from plugin.invitations.models import Invitation, InvitationState
from plugin.people.models import Person, PersonStatus, RosterImport


@dataclass(frozen=True)
class RosterSummary:
    active: int
    left: int
    last_import: RosterImport | None


def roster_summary(session: Session) -> RosterSummary:
    """People in the roster by status, and the last import."""
    counts = dict(
        session.execute(select(Person.status, func.count()).group_by(Person.status)).tuples().all()
    )
    return RosterSummary(
        active=counts.get(PersonStatus.ACTIVE, 0),
        left=counts.get(PersonStatus.LEFT, 0),
        last_import=last_roster_import(session),
    )


def last_roster_import(session: Session) -> RosterImport | None:
    return session.scalar(select(RosterImport).order_by(RosterImport.id.desc()).limit(1))


def active_people(session: Session) -> int:
    return (
        session.scalar(select(func.count(Person.id)).where(Person.status == PersonStatus.ACTIVE))
        or 0
    )


def people_on_mattermost(session: Session) -> int:
    """People of the roster already matched to a Mattermost account."""
    return session.scalar(select(func.count(Person.mattermost_user_id))) or 0


def waves_in_order(session: Session, *, opened_only: bool = False) -> Sequence[Wave]:
    query = select(Wave).order_by(Wave.position)
    if opened_only:
        query = query.where(Wave.status != WaveStatus.PLANNED)
    return session.scalars(query).all()


def people_by_ids(session: Session, person_ids: Sequence[int]) -> list[Person]:
    """These people, by department, site and name (who a launch invites)."""
    return list(
        session.scalars(
            select(Person)
            .where(Person.id.in_(person_ids))
            .order_by(Person.department, Person.site, Person.last_name, Person.id)
        )
    )


@dataclass(frozen=True)
class FailedInvitation:
    invitation: Invitation
    person: Person | None  # None once the person was forgotten
    wave: str


def failed_invitations(session: Session, limit: int) -> list[FailedInvitation]:
    """The latest failed invitations, with their person and wave."""
    rows = session.execute(
        select(Invitation, Person, Wave.name)
        .join(Wave, Wave.id == Invitation.wave_id)
        .outerjoin(Person, Person.id == Invitation.person_id)
        .where(Invitation.state == InvitationState.FAILED)
        .order_by(Invitation.updated_at.desc(), Invitation.id)
        .limit(limit)
    ).tuples()
    return [FailedInvitation(invitation, person, wave) for invitation, person, wave in rows]
