"""Rosters as HR really exports them: a named sheet, UTF-16, encodings we cannot read, loops of
managers, and French files answered in French terms. The CLI and the console share the reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.errors import ValidationFailed
from plugin.people.roster import manager_cycles, open_roster
from plugin.people.service import ImportReport, validate_roster
from tests.people.rosters import FRENCH_HEADER, person_row, write_csv

ENGLISH_HEADER = ["Email", "First name", "Last name", "Department", "Site", "Manager email",
                  "Role", "Language", "Volunteer"]  # fmt: skip


def _problems(path: Path, sheet: str | None = None) -> list[str]:
    roster = open_roster(path, sheet=sheet)
    report = ImportReport(path.name, roster.encoding, roster.delimiter, roster.ignored_columns)
    validate_roster(roster, report)
    return [str(problem) for problem in report.problems]


def _two_sheets(path: Path) -> Path:
    """A workbook whose first sheet is a cover page and whose roster is on "Salariés"."""
    from openpyxl import Workbook

    workbook = Workbook()
    cover = workbook.active
    assert cover is not None
    cover.title = "Lisez-moi"
    cover.append(["Export RH du 1er mars"])
    roster = workbook.create_sheet("Salariés")
    roster.append(FRENCH_HEADER)
    for number in (1, 2, 3):
        roster.append(person_row(number))
    workbook.save(path)
    return path


def test_the_cli_reads_the_sheet_it_is_given(tmp_path: Path) -> None:
    from plugin.cli import root

    path = _two_sheets(tmp_path / "export.xlsx")
    runner = CliRunner(env={"ENVOL_LANG": "en"})  # an English operator

    named = runner.invoke(root, ["roster", "validate", str(path), "--sheet", "Salariés"])
    first = runner.invoke(root, ["roster", "validate", str(path)])
    unknown = runner.invoke(root, ["roster", "validate", str(path), "--sheet", "Feuil1"])

    assert named.exit_code == 0, named.output
    assert "3 lines (Excel workbook, sheet 'Salariés'), all valid" in named.output
    assert first.exit_code == 1 and "line 1: missing column(s)" in first.output
    assert unknown.exit_code == 1
    said = " ".join(unknown.output.split())  # rich wraps long lines
    assert "no sheet named 'Feuil1' (its sheets: 'Lisez-moi', 'Salariés')" in said


def test_a_sheet_for_a_csv_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "rh.csv", [person_row(1)])

    with pytest.raises(ValidationFailed, match="a CSV file has no sheets"):
        open_roster(path, sheet="Salariés")


def test_utf16_with_its_bom_is_read(tmp_path: Path) -> None:
    # Excel's "Unicode text": UTF-16 LE with its BOM, tab-separated.
    path = write_csv(
        tmp_path / "rh.txt",
        [person_row(1), person_row(2)],
        delimiter="\t",
        encoding="utf-16",
    )

    roster = open_roster(path)
    rows = [roster.parse(line, cells) for line, cells in roster.records()]

    assert (roster.encoding, roster.delimiter) == ("utf-16", "\t")
    assert [getattr(row, "first_name", row) for row in rows] == ["Hélène", "François"]
    assert _problems(path) == []


@pytest.mark.parametrize(
    "content",
    [
        "Courriel;Prénom;Nom\na@b.fr;Zoë;Ng\n".encode("utf-16-le"),  # UTF-16 without its BOM
        b"Courriel;Pr\x81nom;Nom\na@b.fr;Ann;Ng\n",  # a byte Windows-1252 leaves undefined
        b"\xff\xfe" + b"C\x00o\x00\x00\xd8",  # a BOM, then a broken surrogate
    ],
    ids=["utf16-no-bom", "undefined-byte", "broken-utf16"],
)
def test_an_encoding_that_cannot_be_read_is_refused_in_one_sentence(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "rh.csv"
    path.write_bytes(content)

    with pytest.raises(ValidationFailed) as refused:
        open_roster(path)

    message = str(refused.value)
    assert message.startswith("rh.csv: this file's encoding cannot be read")
    assert "UTF-8" in message and "UTF-16 with its BOM" in message
    assert "Windows-1252" in message and ".xlsx" in message


def test_manager_loops_are_refused_with_their_lines(tmp_path: Path) -> None:
    rows = [person_row(n) for n in range(1, 7)]
    rows[0][5] = "employe3@exemple.fr"  # 1 → 3 → 1 (lines 2 and 4)
    rows[2][5] = "employe1@exemple.fr"
    rows[3][5] = "employe6@exemple.fr"  # 4 → 6 → 5 → 4 (lines 5, 7, 6)
    rows[4][5] = "employe4@exemple.fr"
    rows[5][5] = "employe5@exemple.fr"
    path = write_csv(tmp_path / "rh.csv", rows)

    problems = _problems(path)

    two = (
        "managers go round in a loop: line 2 (employe1@exemple.fr) → "
        "line 4 (employe3@exemple.fr) → line 2"
    )
    three = (
        "managers go round in a loop: line 5 (employe4@exemple.fr) → "
        "line 7 (employe6@exemple.fr) → line 6 (employe5@exemple.fr) → line 5"
    )
    assert [p.split(": ", 1)[0] for p in problems] == [f"line {n}" for n in (2, 4, 5, 6, 7)]
    assert problems[0].startswith(f"line 2: {two}") and problems[1].startswith(f"line 4: {two}")
    assert all(three in p for p in problems[2:])
    assert problems[0].endswith("correct the manager of one of these lines")


def test_manager_cycles_walks_each_person_once() -> None:
    chain = {f"p{n}": f"p{n + 1}" for n in range(20_000)}  # a long line of managers, no loop
    chain["p20000"] = "p10000"  # ... that closes on its second half

    cycles = manager_cycles(chain)

    assert len(cycles) == 1 and len(cycles[0]) == 10_001
    assert manager_cycles({"a": "b", "b": "c"}) == []


def test_a_french_file_is_answered_in_french_terms(tmp_path: Path) -> None:
    rows = [person_row(1), person_row(2, role="chef"), person_row(3, volunteer="peut-être")]
    path = write_csv(tmp_path / "rh.csv", rows)

    assert _problems(path) == [
        "line 3: unknown role 'chef' in column 'Rôle' (expected employé, manager "
        "(ou responsable), champion (ou ambassadeur) ou comité)",
        "line 4: unknown volunteer value 'peut-être' in column 'Volontaire' (expected oui ou non)",
    ]


def test_an_english_file_is_answered_in_english_terms(tmp_path: Path) -> None:
    rows = [person_row(1), person_row(2, role="chef"), person_row(3, volunteer="maybe")]
    path = write_csv(tmp_path / "rh.csv", rows, header=ENGLISH_HEADER, delimiter=",")

    assert _problems(path) == [
        "line 3: unknown role 'chef' in column 'Role' "
        "(expected employee, manager, champion or committee)",
        "line 4: unknown volunteer value 'maybe' in column 'Volunteer' (expected yes or no)",
    ]
