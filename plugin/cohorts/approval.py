"""The launch team's sign-off on the pilot, and the pilot as it stands, stratum by stratum.

``envol cohorts plan`` (or the console's "approve this proposal") writes the pilot; the launch
team then approves it (``approve_pilot``). Adding or removing a person afterwards withdraws the
approval: what was approved is no longer what would be invited.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.service import record
from plugin.cohorts.models import Cohort, CohortKind, CohortMember, Wave, WaveStatus
from plugin.cohorts.stored_text import REASON_DRAWN, REASON_MUST_INCLUDE
from plugin.errors import EnvolError
from plugin.i18n import messages_of
from plugin.people.models import Person, PersonStatus

# Refusals are worded in the reader's language (the console's person, the CLI's operator).
said = messages_of(Path(__file__).with_name("messages.yaml"))


@dataclass(frozen=True)
class PilotStratumView:
    department: str
    site: str
    population: int
    selected: int
    reasons: dict[str, int]  # "must include" / "drawn" / "added by hand" → people


@dataclass
class CurrentPilot:
    cohort: Cohort
    wave: Wave | None
    population: int
    selected: int
    strata: list[PilotStratumView] = field(default_factory=list)

    @property
    def approved(self) -> bool:
        return self.cohort.approved_at is not None

    @property
    def opened(self) -> bool:
        return self.wave is not None and self.wave.status != WaveStatus.PLANNED


def _reason_group(reason: str) -> str:
    if reason.startswith(REASON_MUST_INCLUDE):
        return "must include"
    if reason.startswith(REASON_DRAWN):
        return "drawn"
    return "added by hand"


def pilot_cohort(session: Session) -> Cohort | None:
    return session.scalar(
        select(Cohort).where(Cohort.kind == CohortKind.PILOT).order_by(Cohort.id).limit(1)
    )


def current_pilot(session: Session) -> CurrentPilot | None:
    """The written pilot with its strata (department × site), or ``None`` before a plan."""
    cohort = pilot_cohort(session)
    if cohort is None:
        return None
    wave = session.scalar(select(Wave).where(Wave.cohort_id == cohort.id))
    population: Counter[tuple[str, str]] = Counter()
    for department, site, count in session.execute(
        select(Person.department, Person.site, func.count())
        .where(Person.status == PersonStatus.ACTIVE)
        .group_by(Person.department, Person.site)
    ).tuples():
        population[(department, site)] += count
    reasons: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for department, site, reason in session.execute(
        select(Person.department, Person.site, CohortMember.reason)
        .join(CohortMember, CohortMember.person_id == Person.id)
        .where(CohortMember.cohort_id == cohort.id, Person.status == PersonStatus.ACTIVE)
    ).tuples():
        reasons[(department, site)][_reason_group(reason)] += 1
    strata = [
        PilotStratumView(
            department=key[0],
            site=key[1],
            population=population[key],
            selected=sum(reasons[key].values()),
            reasons=dict(reasons[key]),
        )
        for key in sorted(population)
    ]
    return CurrentPilot(
        cohort=cohort,
        wave=wave,
        population=sum(population.values()),
        selected=sum(s.selected for s in strata),
        strata=strata,
    )


def approve_pilot(session: Session, *, actor: str, note: str = "") -> bool:
    """Record the launch team's approval of the pilot as it stands; False if already approved.

    Refused before a plan exists and once the pilot wave has opened (nothing left to decide).
    """
    pilot = current_pilot(session)
    if pilot is None:
        raise EnvolError(said("pilot.not_planned"))
    if pilot.opened:
        raise EnvolError(said("pilot.opened"))
    if pilot.approved:
        return False
    pilot.cohort.approved_at = clock.now()
    pilot.cohort.approved_by = actor
    record(
        session,
        actor=actor,
        action="pilot.approved",
        subject_type="cohort",
        subject_id=pilot.cohort.id,
        reason=note,
        details={"selected": pilot.selected, "population": pilot.population},
    )
    session.flush()
    return True


def withdraw_approval_after_change(session: Session, cohort: Cohort, *, actor: str) -> None:
    """A member was added or removed: an approved pilot is approved no longer."""
    if cohort.kind != CohortKind.PILOT or cohort.approved_at is None:
        return
    approved_at: dt.datetime = cohort.approved_at
    cohort.approved_at = None
    cohort.approved_by = None
    record(
        session,
        actor=actor,
        action="pilot.approval_withdrawn",
        subject_type="cohort",
        subject_id=cohort.id,
        reason="its members changed after the approval",
        details={"approved_at": approved_at.isoformat()},
    )


def pilot_members(session: Session, *, limit: int = 200) -> list[tuple[Person, str]]:
    """The pilot's active members with why they are in it (department, site, name order)."""
    cohort = pilot_cohort(session)
    if cohort is None:
        return []
    rows = session.execute(
        select(Person, CohortMember.reason)
        .join(CohortMember, CohortMember.person_id == Person.id)
        .where(CohortMember.cohort_id == cohort.id, Person.status == PersonStatus.ACTIVE)
        .order_by(Person.department, Person.site, Person.last_name, Person.id)
        .limit(limit)
    ).tuples()
    return [(person, _reason_group(reason)) for person, reason in rows]
