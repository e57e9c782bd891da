"""``envol people forget EMAIL``: erase a person from every table of Envol's database.

Every capability that stores something about a person registers its eraser
(``plugin/erasure.py``); ``forget_person`` runs them all, then this capability's own, which
deletes the roster row last, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from plugin.audit.service import record
from plugin.erasure import ForgetSubject, affected_rows, erase_everywhere, erases
from plugin.people.models import Person
from plugin.people.roster import normalise_email


@dataclass
class ForgetReport:
    found_in_roster: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@erases("person", last=True)
def erase_roster_entry(session: Session, subject: ForgetSubject) -> dict[str, int]:
    """The roster row, after every other eraser looked the person up; their reports keep no
    link to them."""
    if subject.person_id is None:
        return {}
    reports = affected_rows(
        session.execute(
            update(Person).where(Person.manager_id == subject.person_id).values(manager_id=None)
        )
    )
    deleted = affected_rows(session.execute(delete(Person).where(Person.id == subject.person_id)))
    return {"manager links removed": reports, "roster entries deleted": deleted}


def forget_person(session: Session, email: str, *, actor: str) -> ForgetReport:
    """Erase everything Envol holds about ``email``, in the caller's transaction.

    The process must have imported ``plugin.models`` (every capability's models and erasers);
    otherwise nothing is erased and ``EnvolError`` says so.

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
    report.counts = erase_everywhere(session, subject)
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
