"""``envol report --csv DIR``: the measures as CSV files a spreadsheet opens directly.

* ``groups.csv``: every group's measures on every snapshot day (the whole history);
* ``people.csv``: the latest snapshot per person, by Envol id only (no name, no e-mail);
* ``spaces.csv``: posts and replies per space in the latest snapshot.

UTF-8 with a byte-order mark, so that spreadsheet programs show accents right.

Privacy, as in the report (``plugin.reports.data``): manager rows and the ``manager_id`` column
only with ``manager_figures``; no group of fewer than 5 people by department, site or manager in
``groups.csv``, and a person's department or site left blank in ``people.csv`` when fewer than 5
people share it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.errors import EnvolError
from plugin.metrics.measures import SURVEY_QUESTIONS, percent
from plugin.metrics.models import GroupSnapshot
from plugin.metrics.service import latest_snapshot, manager_names, person_rows, space_rows
from plugin.reports.data import MIN_GROUP_SIZE, allowed_dimensions, shown_rows, survey_shown
from plugin.text import csv_writer

GROUP_COLUMNS = (
    "day", "dimension", "key", "label", "population", "invited", "joined", "profile_complete",
    "active_7d", "contributed_7d", "contributed_28d", "posts_7d", "replies_7d", "tickets_opened",
    "tickets_resolved", "survey_responses", "survey_why_network", "survey_what_for_me",
    "survey_how_to_use", "survey_what_expected",
)  # fmt: skip
RATE_COLUMNS = (
    "activation_rate", "profile_complete_rate", "weekly_active_rate", "contributors_rate_7d",
)  # fmt: skip
PERSON_COLUMNS = (
    "person_id", "department", "site", "manager_id", "invited", "joined", "profile_complete",
    "active_7d", "contributed_7d", "contributed_28d", "last_activity_at", "posts_7d",
    "replies_7d", "posts_28d", "replies_28d",
)  # fmt: skip
SPACE_COLUMNS = (
    "channel_id", "channel_name", "posts_7d", "replies_7d", "posts_28d", "replies_28d",
    "contributors_7d",
)  # fmt: skip


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return round(value, 2)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv_writer(handle)  # formulas disarmed (plugin.text)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
            count += 1
    return count


def _shared_by_few(people: Sequence[Any], column: str) -> set[str]:
    """Values of ``column`` held by fewer than ``MIN_GROUP_SIZE`` people."""
    counts = Counter(str(getattr(person, column) or "") for person in people)
    return {value for value, count in counts.items() if count < MIN_GROUP_SIZE}


def export_csv(
    session: Session, directory: Path, *, manager_figures: bool = False
) -> dict[str, int]:
    """Write the three files into ``directory``; returns rows written per file."""
    snapshot = latest_snapshot(session)
    if snapshot is None:
        raise EnvolError("No adoption snapshot yet: run `envol metrics snapshot` first.")
    directory.mkdir(parents=True, exist_ok=True)
    allowed = allowed_dimensions(manager_figures)
    groups, _left_out = shown_rows(
        [
            group
            for group in session.scalars(
                select(GroupSnapshot).order_by(
                    GroupSnapshot.day, GroupSnapshot.dimension, GroupSnapshot.key
                )
            )
            if group.dimension in allowed
        ]
    )
    people = person_rows(session, snapshot)
    few = {column: _shared_by_few(people, column) for column in ("department", "site")}
    person_columns = tuple(c for c in PERSON_COLUMNS if manager_figures or c != "manager_id")

    def person_row(person: Any) -> list[Any]:
        values = []
        for column in person_columns:
            value = getattr(person, column)
            if column in few and str(value or "") in few[column]:
                value = ""
            values.append(value)
        return values

    managers = manager_names(session, [int(g.key) for g in groups if g.dimension == "manager"])

    def group_row(g: GroupSnapshot) -> list[Any]:
        values = [getattr(g, column) for column in GROUP_COLUMNS]
        if g.dimension == "manager":
            values[GROUP_COLUMNS.index("label")] = managers.get(int(g.key), "")
        elif g.dimension in ("department", "site") and not g.key.strip():
            values[GROUP_COLUMNS.index("label")] = ""  # not given in the roster
        if not survey_shown(g):  # fewer answers would tell what one person answered
            for question, _, _ in SURVEY_QUESTIONS:
                values[GROUP_COLUMNS.index(f"survey_{question}")] = None
        return [
            *values,
            percent(g.joined, g.invited),
            percent(g.profile_complete, g.joined),
            percent(g.active_7d, g.joined),
            percent(g.contributed_7d, g.joined),
        ]

    return {
        "groups.csv": _write(
            directory / "groups.csv", GROUP_COLUMNS + RATE_COLUMNS, map(group_row, groups)
        ),
        "people.csv": _write(directory / "people.csv", person_columns, map(person_row, people)),
        "spaces.csv": _write(
            directory / "spaces.csv",
            SPACE_COLUMNS,
            ([getattr(s, c) for c in SPACE_COLUMNS] for s in space_rows(session, snapshot)),
        ),
    }
