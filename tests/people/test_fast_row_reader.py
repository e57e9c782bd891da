"""The import reads rows with ``RosterFile.value_reader`` (a fast path) and falls back to
``RosterFile.parse`` for the lines it rejects: the two must agree on every line, so that the
problems and the values imported are those ``parse`` defines."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.people.models import Language, Person
from plugin.people.roster import RosterFile, open_roster
from plugin.people.service import import_roster
from tests.people.rosters import FRENCH_HEADER, person_row, write_csv

LONG = "x" * 130
ROWS = [
    person_row(1),
    person_row(2, email="  Jean.DUPONT@Exemple.FR  ", manager="  EMPLOYE1@exemple.fr "),
    person_row(3, email=""),
    person_row(4, email="jean dupont@exemple.fr"),
    person_row(5, email="@exemple.fr"),
    person_row(6, email="a" * 250 + "@b.fr"),
    person_row(7, first="   "),
    person_row(8, last=""),
    person_row(9, manager="boss@@exemple"),
    person_row(10, role=" Comité de lancement "),
    person_row(11, role="boss"),
    person_row(12, role=""),
    person_row(13, language=""),
    person_row(14, language="   "),
    person_row(15, language="English"),
    person_row(16, language="de"),
    person_row(17, volunteer=" OUI "),
    person_row(18, volunteer="x"),
    person_row(19, volunteer="peut-être"),
    person_row(20, volunteer=""),
    person_row(21, first=LONG, last=LONG, department=LONG, site=LONG),
    person_row(22, role="ambassadrice", language="fr fr", volunteer="Vrai"),
    ["employe23@exemple.fr", "Ann", "Lee"],  # a short line: the other cells are empty
    [*person_row(24), "extra", "cells"],
    ["", "", ""],
]


def _roster(tmp_path: Path, header: list[str], language: Language = Language.FR) -> RosterFile:
    return open_roster(write_csv(tmp_path / "rh.csv", [], header=header), language)


def _assert_agree(roster: RosterFile, rows: list[list[str]]) -> None:
    read = roster.value_reader()
    for line, cells in enumerate(rows, start=2):
        parsed = roster.parse(line, list(cells))
        fast = read(line, list(cells))
        if isinstance(parsed, list):
            assert parsed and fast is None, (line, cells)
        else:
            assert fast == parsed.values(), (line, cells)


@pytest.mark.parametrize("language", [Language.FR, Language.EN])
def test_the_fast_reader_agrees_with_parse_on_every_line(
    tmp_path: Path, language: Language
) -> None:
    roster = _roster(tmp_path, FRENCH_HEADER, language)

    _assert_agree(roster, ROWS)
    read = roster.value_reader()
    rejected = [n for n, cells in enumerate(ROWS, start=2) if read(n, list(cells)) is None]
    assert rejected == [4, 5, 6, 7, 8, 9, 10, 12, 17, 20, 26]


def test_missing_columns_are_empty_even_when_a_line_has_more_cells(tmp_path: Path) -> None:
    # Only the required columns; a line with cells beyond them must not be read as a role.
    roster = _roster(tmp_path, ["Courriel", "Prénom", "Nom"])

    _assert_agree(roster, [["a@b.fr", "Ann", "Lee", "boss", "de", "peut-être"], ["c@d.fr"]])
    assert roster.value_reader()(2, ["a@b.fr", "Ann", "Lee", "boss", "de", "peut-être"]) == (
        2, "a@b.fr", "", "Ann", "Lee", "", "", "employee", "fr", False,
    )  # fmt: skip


def test_columns_in_another_order(tmp_path: Path) -> None:
    header = ["Volontaire", "Nom", "Langue", "Courriel", "Rôle", "Prénom"]
    roster = _roster(tmp_path, header)

    _assert_agree(
        roster,
        [
            ["oui", "Lee", "en", "A@B.fr", "champion", "Ann"],
            ["non", "Lee", "xx", "a@b.fr", "", "Ann"],
        ],
    )


def test_awkward_cells_are_staged_and_stored_as_written(
    db_session: Session, tmp_path: Path
) -> None:
    # COPY (PostgreSQL) and executemany (SQLite) must both keep tabs, backslashes, quotes and a
    # line break inside a quoted cell.
    awkward = 'R&D\t"Labo"\\ Nord\nbâtiment B'
    path = write_csv(tmp_path / "rh.csv", [person_row(1, department=awkward), person_row(2)])

    report = import_roster(db_session, path, actor="test")

    assert report.created == 2
    stored = db_session.scalar(
        select(Person.department).where(Person.email == "employe1@exemple.fr")
    )
    assert stored == awkward
