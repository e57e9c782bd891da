"""Erasure by registration: what ``envol people forget EMAIL`` erases, and how it stays complete.

Models mark every column that holds personal data with ``info=PERSONAL_DATA``: an e-mail address,
a name, a Mattermost user id, free text written by or about a person. A foreign key to
``person.id`` counts too, without a mark. Such a table is *personal*.

Each capability registers the eraser of its personal tables with ``@erases("table", …)`` in its
``forget.py``; ``plugin/models.py`` imports every one of them, as it imports every model, then
calls ``all_registered()``. An eraser
deletes or anonymises its rows for the subject, in the caller's transaction, and returns what it
did as anonymous counts (``{"invitations anonymised": 2}``); rows that feed statistics may stay
without the person. ``erase_everywhere`` runs them all and refuses to run when a personal table
has no eraser, so a new table cannot keep a forgotten person by oversight
(``tests/foundation/test_erasure.py`` fails first).

Columns that name *who acted* (``decided_by``, ``approved_by``, an audit ``actor``: a Mattermost
user id, a console user's ``@username``, ``cli:<login>``) are marked ``info=ACTOR`` instead: the
decision stays, its author becomes ``forgotten``. ``erase_everywhere`` does that itself for every
such column of every table, with every name the person acted under: their Mattermost id and the
aliases a capability knows them by (``@finds_aliases``: the console knows the usernames its
sessions were opened with).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import CursorResult, MetaData, Result, Table, update
from sqlalchemy.orm import Session

from plugin.db import Base
from plugin.errors import EnvolError

PERSONAL_DATA: dict[str, Any] = {"personal_data": True}
"""Column ``info`` of a column holding personal data: ``mapped_column(..., info=PERSONAL_DATA)``."""

ACTOR: dict[str, Any] = {"actor": True}
"""Column ``info`` of a column naming who did something (an id, ``@username``, ``cli:login``)."""

FORGOTTEN_ACTOR = "forgotten"
"""What an ``ACTOR`` column says once the person it named is forgotten."""

PERSON_TABLE = "person"


@dataclass(frozen=True)
class ForgetSubject:
    """Who to forget. ``person_id`` is None when the address is not (or no longer) in the roster:
    a waitlist request or a support ticket may still hold it."""

    email: str
    person_id: int | None
    mattermost_user_id: str | None
    # Other names the person acted under (``@username``), found by ``@finds_aliases``.
    aliases: frozenset[str] = frozenset()

    @property
    def actor_names(self) -> frozenset[str]:
        """Every value an ``ACTOR`` column may hold for this person."""
        names = set(self.aliases)
        if self.mattermost_user_id:
            names.add(self.mattermost_user_id)
        return frozenset(names)


Eraser = Callable[[Session, ForgetSubject], dict[str, int]]
AliasFinder = Callable[[Session, ForgetSubject], set[str]]


@dataclass(frozen=True)
class RegisteredEraser:
    eraser: Eraser
    tables: tuple[str, ...]
    last: bool  # runs after every other eraser (the roster row, which the others look up)

    @property
    def name(self) -> str:
        return f"{self.eraser.__module__}.{self.eraser.__qualname__}"


_REGISTRY: dict[str, RegisteredEraser] = {}
_ALIAS_FINDERS: dict[str, AliasFinder] = {}
_complete = False


def erases(*tables: str, last: bool = False) -> Callable[[Eraser], Eraser]:
    """Register the decorated function as the eraser of ``tables`` (their ``__tablename__``)."""
    if not tables:
        raise ValueError("an eraser names the tables it erases")

    def register(eraser: Eraser) -> Eraser:
        entry = RegisteredEraser(eraser, tuple(tables), last)
        _REGISTRY[entry.name] = entry
        return eraser

    return register


def finds_aliases(finder: AliasFinder) -> AliasFinder:
    """Register ``finder``: the other names (``@username``) the subject acted under, looked up
    before any eraser runs (an eraser may delete where they were found)."""
    _ALIAS_FINDERS[f"{finder.__module__}.{finder.__qualname__}"] = finder
    return finder


def all_registered() -> None:
    """Called by ``plugin/models.py`` once every capability's models and eraser are imported."""
    global _complete
    _complete = True


def registered_erasers() -> list[RegisteredEraser]:
    """Every registered eraser, in the order they run (``last`` ones at the end)."""
    return sorted(_REGISTRY.values(), key=lambda entry: (entry.last, entry.name))


def personal_columns(metadata: MetaData) -> dict[str, list[str]]:
    """Table name → its columns holding personal data (marked, or a key to ``person.id``)."""
    found: dict[str, list[str]] = {}
    for table in metadata.sorted_tables:
        columns = [
            column.name
            for column in table.columns
            if column.info.get("personal_data")
            or any(fk.column.table.name == PERSON_TABLE for fk in column.foreign_keys)
        ]
        if columns:
            found[table.name] = columns
    return found


def actor_columns(metadata: MetaData) -> dict[str, list[str]]:
    """Table name → its columns naming who acted (``info=ACTOR``)."""
    found: dict[str, list[str]] = {}
    for table in metadata.sorted_tables:
        columns = [column.name for column in table.columns if column.info.get("actor")]
        if columns:
            found[table.name] = columns
    return found


def anonymise_actors(session: Session, subject: ForgetSubject, metadata: MetaData) -> int:
    """Every ``ACTOR`` column naming the subject now says ``forgotten``; the cells changed."""
    names = sorted(subject.actor_names)
    if not names:
        return 0
    changed = 0
    for name, columns in actor_columns(metadata).items():
        table: Table = metadata.tables[name]
        for column in columns:
            changed += affected_rows(
                session.execute(
                    update(table)
                    .where(table.c[column].in_(names))
                    .values({column: FORGOTTEN_ACTOR})
                )
            )
    return changed


def tables_without_eraser(metadata: MetaData) -> list[str]:
    """Personal tables that no registered eraser names."""
    covered = {table for entry in _REGISTRY.values() for table in entry.tables}
    return sorted(set(personal_columns(metadata)) - covered)


def affected_rows(result: Result[Any]) -> int:
    """How many rows an ``update`` or ``delete`` touched."""
    return cast(CursorResult[Any], result).rowcount


def erase_everywhere(session: Session, subject: ForgetSubject) -> dict[str, int]:
    """Run every registered eraser for ``subject``; the counts of what they did, summed.

    Refuses (``EnvolError``, nothing erased) while some capability may be missing (the process
    did not import ``plugin.models``), or when a personal table has no eraser.
    """
    if not _complete:
        raise EnvolError(
            "cannot forget anyone: the capabilities' erasers are not all loaded (the command "
            "must import plugin.models first); nothing was erased."
        )
    missing = tables_without_eraser(Base.metadata)
    if missing:
        raise EnvolError(
            f"cannot forget anyone: no eraser registered for {', '.join(missing)}; register one "
            "with plugin.erasure.erases in the capability's forget.py; nothing was erased."
        )
    aliases: set[str] = set()
    for finder in _ALIAS_FINDERS.values():
        aliases |= finder(session, subject)
    subject = replace(subject, aliases=subject.aliases | frozenset(aliases))
    counts: dict[str, int] = {}
    actors = anonymise_actors(session, subject, Base.metadata)
    if actors:
        counts["decisions and events anonymised (author)"] = actors
    for entry in registered_erasers():
        for what, count in entry.eraser(session, subject).items():
            if count:
                counts[what] = counts.get(what, 0) + count
    return counts
