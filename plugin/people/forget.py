"""``envol people forget EMAIL``: erase a person from every table of Envol's database.

Each capability that stores something about a person contributes one eraser to ``ERASERS``
(an explicit registry: import your function and append it to the list below). An eraser deletes
or anonymises that capability's rows for the subject and returns what it did as anonymous counts,
e.g. ``{"invitations anonymised": 2}``; rows that feed statistics are kept without the person.
The person row itself is deleted last, after every eraser ran, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from plugin.audit.service import record
from plugin.cohorts.forget import affected_rows, erase_cohorts_and_waitlist
from plugin.invitations.forget import erase_invitations_and_onboarding
from plugin.people.models import Person
from plugin.people.roster import normalise_email


@dataclass(frozen=True)
class ForgetSubject:
    """Who to forget. ``person_id`` is None when the address is not (or no longer) in the roster:
    a waitlist request or a support ticket may still hold it."""

    email: str
    person_id: int | None
    mattermost_user_id: str | None


Eraser = Callable[[Session, ForgetSubject], dict[str, int]]

# The registry. Capabilities append their eraser here (one import, one line).
ERASERS: list[Eraser] = [
    erase_cohorts_and_waitlist,
    erase_invitations_and_onboarding,
]


@dataclass
class ForgetReport:
    found_in_roster: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def forget_person(session: Session, email: str, *, actor: str) -> ForgetReport:
    """Erase everything Envol holds about ``email``, in the caller's transaction.

    The audit trail records that someone was forgotten, by whom, with the counts, and never the
    address (the audit trail must not become the one place that still remembers it).
    """
    address = normalise_email(email)
    person = session.scalar(select(Person).where(Person.email == address))
    subject = ForgetSubject(
        email=address,
        person_id=person.id if person else None,
        mattermost_user_id=person.mattermost_user_id if person else None,
    )
    report = ForgetReport(found_in_roster=person is not None)
    for eraser in ERASERS:
        for what, count in eraser(session, subject).items():
            if count:
                report.counts[what] = report.counts.get(what, 0) + count
    if person is not None:
        reports = affected_rows(
            session.execute(
                update(Person).where(Person.manager_id == person.id).values(manager_id=None)
            )
        )
        if reports:
            report.counts["manager links removed"] = reports
        session.execute(delete(Person).where(Person.id == person.id))
        report.counts["roster entries deleted"] = 1
    session.expire_all()
    record(
        session,
        actor=actor,
        action="person.forgotten",
        subject_type="person",
        subject_id=subject.person_id or "",
        details={"found_in_roster": report.found_in_roster, "counts": report.counts},
    )
    return report
