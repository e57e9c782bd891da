"""What an import would change, before anything is written: joiners, changes, leavers.

``preview_roster`` validates the file exactly as ``import_roster`` does (same reader, same
checks, same line numbers) and compares it with the roster in the database. It writes nothing;
the console shows it before its Import button, ``envol roster diff FILE`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from plugin.people.models import Language, Person, PersonStatus
from plugin.people.roster import ROW_VALUE_NAMES, normalise_email, open_roster
from plugin.people.service import BATCH_SIZE, ImportReport, _valid_rows, validate_roster

# Fields compared, in the order they are shown.
COMPARED = (
    "first_name",
    "last_name",
    "department",
    "site",
    "manager_email",
    "role",
    "language",
    "volunteer",
)
DETAIL_LIMIT = 500  # people listed per group; the counts are always exact


@dataclass(frozen=True)
class RosterPerson:
    line: int | None  # the file's line (None for leavers: they are not in the file)
    email: str
    name: str
    department: str
    site: str


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class PersonChange:
    person: RosterPerson
    changes: tuple[FieldChange, ...]
    rejoining: bool


@dataclass
class RosterPreview:
    report: ImportReport
    joiners: list[RosterPerson] = field(default_factory=list)
    changed: list[PersonChange] = field(default_factory=list)
    leavers: list[RosterPerson] = field(default_factory=list)
    joiner_count: int = 0
    changed_count: int = 0
    leaver_count: int = 0
    unchanged_count: int = 0

    @property
    def importable(self) -> bool:
        """Nothing invalid, something to import: the Import button may be offered."""
        return not self.report.problems and self.report.valid > 0


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(getattr(value, "value", value) or "")


# The compared fields of a row's values (``RowValues``), in the order of COMPARED.
_compared_values = itemgetter(*(ROW_VALUE_NAMES.index(name) for name in COMPARED))


def preview_roster(
    session: Session,
    path: Path,
    *,
    default_language: Language = Language.FR,
    sheet: str | None = None,
) -> RosterPreview:
    """Validate ``path`` (its ``sheet`` for a workbook) and compare it with the roster; writes
    nothing."""
    roster = open_roster(path, default_language, sheet=sheet)
    report = ImportReport(
        source_name=path.name,
        encoding=roster.encoding,
        delimiter=roster.delimiter,
        ignored_columns=roster.ignored_columns,
        dry_run=True,
    )
    invalid = validate_roster(roster, report)
    preview = RosterPreview(report=report)
    seen: set[str] = set()
    rows = _valid_rows(roster, invalid)
    while batch := list(islice(rows, BATCH_SIZE)):
        existing = _known_people(session, [values[1] for values in batch])
        for values in batch:
            line, email, _, first_name, last_name, department, site = values[:7]
            seen.add(email)
            shown = RosterPerson(line, email, f"{first_name} {last_name}", department, site)
            found = existing.get(email)
            if found is None:
                preview.joiner_count += 1
                if len(preview.joiners) < DETAIL_LIMIT:
                    preview.joiners.append(shown)
                continue
            _compare(preview, shown, *found, _compared_values(values))
    # An invalid line whose address is known keeps its person in the roster (as the import
    # does): only people absent from the file altogether leave.
    for line, cells in roster.records():
        if line in invalid:
            address = normalise_email(roster.cell(cells, "email"))
            if address:
                seen.add(address)
    _add_leavers(session, preview, seen)
    return preview


def _compare(
    preview: RosterPreview,
    shown: RosterPerson,
    before: tuple[Any, ...],
    rejoining: bool,
    after: tuple[Any, ...],
) -> None:
    """Count a known person as unchanged or changed (listing what changed, as text).

    The values are compared as they are first (enum members equal their values): turning
    every field of every row into text took most of a preview of an unchanged roster.
    """
    if before == after and not rejoining:
        preview.unchanged_count += 1
        return
    old_texts, new_texts = [_text(v) for v in before], [_text(v) for v in after]
    if old_texts == new_texts and not rejoining:
        preview.unchanged_count += 1
        return
    preview.changed_count += 1
    if len(preview.changed) < DETAIL_LIMIT:
        changes = tuple(
            FieldChange(name, old, new)
            for name, old, new in zip(COMPARED, old_texts, new_texts, strict=True)
            if old != new
        )
        preview.changed.append(PersonChange(shown, changes, rejoining))


def _known_people(session: Session, emails: list[str]) -> dict[str, tuple[tuple[Any, ...], bool]]:
    """e-mail → (the compared fields, whether they had left), as plain rows: no ORM object per
    person."""
    manager = aliased(Person)
    query = (
        select(
            Person.email,
            *(getattr(Person, name) for name in COMPARED if name != "manager_email"),
            manager.email,
            Person.status,
        )
        .outerjoin(manager, manager.id == Person.manager_id)
        .where(_among(session, Person.email, emails))
    )
    known: dict[str, tuple[tuple[Any, ...], bool]] = {}
    at = COMPARED.index("manager_email")
    for email, *fields, manager_email, status in session.execute(query):
        fields.insert(at, manager_email or "")
        known[email] = (tuple(fields), status != PersonStatus.ACTIVE)
    return known


def _among(session: Session, column: Any, values: list[str]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``, one parameter instead of 2,000
    (their parsing and planning were most of the time of each query)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(
            ColumnElement[bool], column == any_(bindparam(None, values, type_=ARRAY(String)))
        )
    return cast(ColumnElement[bool], column.in_(values))


def _add_leavers(session: Session, preview: RosterPreview, seen: set[str]) -> None:
    """Active people absent from the file: they would be marked as left. Plain rows, not ORM
    objects: loading every active person as one was half of a preview."""
    for email, first_name, last_name, department, site in session.execute(
        select(Person.email, Person.first_name, Person.last_name, Person.department, Person.site)
        .where(Person.status == PersonStatus.ACTIVE)
        .order_by(Person.department, Person.last_name, Person.id)
        .execution_options(yield_per=BATCH_SIZE)
    ):
        if email in seen:
            continue
        preview.leaver_count += 1
        if len(preview.leavers) < DETAIL_LIMIT:
            name = f"{first_name} {last_name}".strip()  # as Person.display_name
            preview.leavers.append(RosterPerson(None, email, name, department, site))
