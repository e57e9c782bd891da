"""Looking people up in the roster: by their Mattermost account or their e-mail address."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.people.models import Person, PersonRole
from plugin.people.roster import normalise_email


@dataclass(frozen=True)
class RosterMember:
    """What the webhooks need to know about whoever is typing, from the roster."""

    person_id: int
    language: str  # fr | en: the roster's language, for people without a Mattermost locale
    role: PersonRole

    @property
    def is_committee(self) -> bool:
        return self.role == PersonRole.COMMITTEE


def roster_member(session: Session, mattermost_user_id: str) -> RosterMember | None:
    """The roster entry linked to a Mattermost account, or None (not in the roster, or not
    joined yet)."""
    row = session.execute(
        select(Person.id, Person.language, Person.role).where(
            Person.mattermost_user_id == mattermost_user_id
        )
    ).first()
    if row is None:
        return None
    person_id, language, role = row
    return RosterMember(person_id, str(getattr(language, "value", language)), role)


def person_by_email(session: Session, email: str) -> Person | None:
    """The person with this address (any case, surrounding spaces ignored), or None."""
    return session.scalar(select(Person).where(Person.email == normalise_email(email)))
