"""Audiences: who a campaign or a report is about, as a query of people.

An audience spec is a short string an admin can type: ``everyone``, ``managers``, ``champions``,
``committee``, ``volunteers``, ``not-joined``, ``wave:NAME``, ``cohort:NAME``,
``department:NAME`` or ``site:NAME``. Every audience holds active people only: leavers are
never messaged.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from plugin.cohorts.models import Cohort, CohortMember, Wave
from plugin.errors import EnvolError
from plugin.people.models import Person, PersonRole, PersonStatus

SIMPLE_AUDIENCES = ("everyone", "managers", "champions", "committee", "volunteers", "not-joined")
NAMED_AUDIENCES = ("wave", "cohort", "department", "site")

# French spellings an admin may type; the canonical key is English.
_ALIASES = {
    "tous": "everyone",
    "tout-le-monde": "everyone",
    "all": "everyone",
    "comite": "committee",
    "volontaires": "volunteers",
    "pas-encore-inscrits": "not-joined",
    "non-inscrits": "not-joined",
    "vague": "wave",
    "cohorte": "cohort",
    "service": "department",
    "departement": "department",
}


@dataclass(frozen=True)
class Audience:
    """A parsed audience spec: ``kind`` is one of the simple or named audiences."""

    kind: str
    value: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}" if self.value else self.kind


def parse_audience(spec: str | Audience) -> Audience:
    """``"wave:Vague 2"`` → ``Audience("wave", "Vague 2")``; unknown specs raise ``EnvolError``."""
    if isinstance(spec, Audience):
        return spec
    text = spec.strip()
    kind, _, value = text.partition(":")
    kind = kind.strip().lower().replace("_", "-").replace(" ", "-")
    kind = _ALIASES.get(kind, kind)
    value = value.strip()
    if kind in SIMPLE_AUDIENCES and not value:
        return Audience(kind)
    if kind in NAMED_AUDIENCES and value:
        return Audience(kind, value)
    raise EnvolError(
        f"unknown audience {spec!r}: use one of {', '.join(SIMPLE_AUDIENCES)}, "
        f"or {', '.join(k + ':NAME' for k in NAMED_AUDIENCES)}."
    )


def audience_query(spec: str | Audience) -> Select[tuple[Person]]:
    """A ``select(Person)`` of the active people in the audience, ordered by id.

    Compose it further (``.where(...)``, ``.limit(...)``) or run it with ``session.scalars``.
    """
    audience = parse_audience(spec)
    query = select(Person).where(Person.status == PersonStatus.ACTIVE).order_by(Person.id)
    kind, value = audience.kind, audience.value
    if kind == "everyone":
        return query
    if kind == "managers":
        return query.where(Person.role == PersonRole.MANAGER)
    if kind == "champions":
        return query.where(Person.role == PersonRole.CHAMPION)
    if kind == "committee":
        return query.where(Person.role == PersonRole.COMMITTEE)
    if kind == "volunteers":
        return query.where(Person.volunteer.is_(True))
    if kind == "not-joined":
        return query.where(Person.mattermost_user_id.is_(None))
    if kind == "department":
        return query.where(Person.department == value)
    if kind == "site":
        return query.where(Person.site == value)
    if kind == "cohort":
        members = (
            select(CohortMember.person_id)
            .join(Cohort, Cohort.id == CohortMember.cohort_id)
            .where(Cohort.name == value)
        )
        return query.where(Person.id.in_(members))
    # wave: the people of the wave's cohort (waitlist approvals are added to that cohort).
    members = (
        select(CohortMember.person_id)
        .join(Wave, Wave.cohort_id == CohortMember.cohort_id)
        .where(Wave.name == value)
    )
    return query.where(Person.id.in_(members))


def check_audience_exists(session: Session, spec: str | Audience) -> Audience:
    """Parse and check that a named wave or cohort exists (a typo must not mean "nobody")."""
    audience = parse_audience(spec)
    if (
        audience.kind == "wave"
        and session.scalar(select(Wave.id).where(Wave.name == audience.value)) is None
    ):
        raise EnvolError(f"no wave named {audience.value!r}; `envol waves list` shows them.")
    if (
        audience.kind == "cohort"
        and session.scalar(select(Cohort.id).where(Cohort.name == audience.value)) is None
    ):
        raise EnvolError(f"no cohort named {audience.value!r}; `envol cohorts list` shows them.")
    return audience
