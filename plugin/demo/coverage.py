"""The roster's coverage at the end of the demo's launch: everyone invited once, or the reason
they were not, counted from Envol's own tables (the hand-offs and the invitations)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.table import Table
from sqlalchemy import select

from plugin import clock
from plugin.cohorts.models import WaveHandoff
from plugin.invitations.models import Invitation, InvitationState
from plugin.people.models import Person, PersonStatus

if TYPE_CHECKING:
    from plugin.demo.run import DemoRun


LEFT = "left the company before their wave"
OPTED_OUT = "opted out"
FAILED = "every attempt failed (envol invitations retry-failed)"
FINAL_REASONS = (LEFT, OPTED_OUT, FAILED)


@dataclass
class Coverage:
    """On ``day``: the roster, who was invited once, twice or more, and who was not, by reason."""

    day: dt.date
    roster: int
    invited_once: int
    invited_more: int
    excluded: dict[str, list[str]] = field(default_factory=dict)  # reason -> e-mails

    @property
    def not_invited(self) -> int:
        return sum(len(who) for who in self.excluded.values())

    @property
    def complete(self) -> bool:
        """Everyone accounted for: invited exactly once, or excluded for a reason that holds
        at the end of a launch (not "not sent yet")."""
        return (
            not self.invited_more
            and self.invited_once + self.not_invited == self.roster
            and set(self.excluded) <= set(FINAL_REASONS)
        )

    def as_json(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "roster": self.roster,
            "invited_once": self.invited_once,
            "invited_more": self.invited_more,
            "excluded": {reason: len(who) for reason, who in self.excluded.items()},
            "complete": self.complete,
        }

    def table(self) -> Table:
        table = Table(title=f"the roster's coverage — {self.day:%d %B %Y}", title_justify="left")
        table.add_column("people")
        table.add_column("count", justify="right")
        table.add_row("in the roster", f"{self.roster:,}")
        table.add_row("invited once", f"{self.invited_once:,}")
        table.add_row("invited more than once", f"{self.invited_more:,}")
        for reason, who in self.excluded.items():
            table.add_row(f"not invited: {reason}", f"{len(who):,}")
        return table


def _reason(person: Person, handed: bool, states: list[InvitationState]) -> str | None:
    """Why ``person`` was not invited, or None when they were."""
    if person.status != PersonStatus.ACTIVE:
        return LEFT
    if not handed:
        return "in no wave of the plan"
    if InvitationState.OPTED_OUT in states:
        return OPTED_OUT
    if states and all(state == InvitationState.FAILED for state in states):
        return FAILED
    return "handed over but not sent yet"


def roster_coverage(run: DemoRun) -> Coverage:
    with run.context.sessions() as session:
        people = list(session.scalars(select(Person).order_by(Person.id)))
        handed = set(session.scalars(select(WaveHandoff.person_id)))
        rows = session.execute(
            select(Invitation.person_id, Invitation.state, Invitation.sent_at)
        ).all()
    sent: Counter[int] = Counter()
    states: dict[int, list[InvitationState]] = {}
    for person_id, state, sent_at in rows:
        if person_id is None:
            continue
        states.setdefault(person_id, []).append(state)
        if sent_at is not None:
            sent[person_id] += 1
    coverage = Coverage(day=clock.now().date(), roster=len(people), invited_once=0, invited_more=0)
    for person in people:
        times = sent[person.id]
        if times == 1:
            coverage.invited_once += 1
        elif times > 1:
            coverage.invited_more += 1
        else:
            reason = _reason(person, person.id in handed, states.get(person.id, []))
            coverage.excluded.setdefault(reason or "unknown", []).append(person.email)
    return coverage
