"""Excel rosters (shared by ``envol roster import`` and the console) and the preview of an
import: joiners, changes and leavers before anything is written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.errors import ValidationFailed
from plugin.people.models import Person, PersonStatus
from plugin.people.preview import preview_roster
from plugin.people.roster import open_roster
from plugin.people.service import import_roster
from tests.people.rosters import person_row, write_csv, write_xlsx


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Person)) or 0


def test_a_workbook_imports_like_its_csv(db_session: Session, tmp_path: Path) -> None:
    rows: list[list[object]] = [person_row(n) for n in range(1, 6)]
    rows[3][8] = True  # Excel's TRUE in the volunteer column
    rows.append([None] * 9)  # an empty row Excel keeps after the data
    path = write_xlsx(tmp_path / "effectif.xlsx", rows)

    report = import_roster(db_session, path, actor="test")

    assert (report.encoding, report.rows, report.created) == ("xlsx", 5, 5)
    volunteer = db_session.scalar(select(Person).where(Person.email == "employe4@exemple.fr"))
    assert volunteer is not None and volunteer.volunteer is True
    assert volunteer.first_name == "François"


def test_a_workbook_problem_names_the_excel_row(db_session: Session, tmp_path: Path) -> None:
    rows: list[list[object]] = [person_row(n) for n in range(1, 5)]
    rows[2][0] = "not-an-address"  # Excel row 4 (row 1 holds the titles)
    rows[1][7] = dt.date(2024, 1, 1)  # a date where the language goes
    path = write_xlsx(tmp_path / "effectif.xlsx", rows)

    with pytest.raises(ValidationFailed) as raised:
        import_roster(db_session, path, actor="test")

    assert [str(p) for p in raised.value.problems] == [
        "line 3: unknown language '2024-01-01' (expected fr or en)",
        "line 4: invalid e-mail 'not-an-address'",
    ]
    assert _count(db_session) == 0


def test_a_broken_workbook_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "effectif.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a workbook")

    with pytest.raises(ValidationFailed, match=r"not a readable Excel workbook.*export it as CSV"):
        open_roster(path)


def test_preview_lists_joiners_changes_and_leavers_and_writes_nothing(
    db_session: Session, tmp_path: Path
) -> None:
    import_roster(
        db_session, write_csv(tmp_path / "v1.csv", [person_row(n) for n in range(1, 6)]), actor="t"
    )
    before = [(p.email, p.department, p.status) for p in db_session.scalars(select(Person))]
    new_rows = [person_row(n) for n in (1, 2, 3, 6)]
    new_rows[1] = person_row(2, department="Marketing", manager="")
    path = write_xlsx(tmp_path / "v2.xlsx", new_rows)  # 4 and 5 left; 6 joins; 2 changes

    preview = preview_roster(db_session, path)

    assert preview.importable
    assert [p.email for p in preview.joiners] == ["employe6@exemple.fr"]
    assert preview.joiners[0].line == 5
    assert [c.person.email for c in preview.changed] == ["employe2@exemple.fr"]
    assert {(f.field, f.before, f.after) for f in preview.changed[0].changes} == {
        ("department", "Ventes", "Marketing"),
        ("manager_email", "employe1@exemple.fr", ""),
    }
    assert sorted(p.email for p in preview.leavers) == [
        "employe4@exemple.fr", "employe5@exemple.fr",
    ]  # fmt: skip
    assert (preview.joiner_count, preview.changed_count, preview.leaver_count) == (1, 1, 2)
    assert preview.unchanged_count == 2
    after = [(p.email, p.department, p.status) for p in db_session.scalars(select(Person))]
    assert after == before
    # The import then does exactly what the preview said.
    report = import_roster(db_session, path, actor="t")
    assert (report.created, report.marked_left) == (1, 2)
    assert report.updated == 1 and report.unchanged == 2


def test_preview_reports_invalid_lines_and_keeps_their_people(
    db_session: Session, tmp_path: Path
) -> None:
    import_roster(
        db_session, write_csv(tmp_path / "v1.csv", [person_row(n) for n in range(1, 4)]), actor="t"
    )
    rows = [person_row(1), person_row(2, role="chef"), person_row(3)]

    preview = preview_roster(db_session, write_csv(tmp_path / "v2.csv", rows))

    assert not preview.importable
    assert [str(p) for p in preview.report.problems] == [
        "line 3: unknown role 'chef' in column 'Rôle' (expected employé, manager "
        "(ou responsable), champion (ou ambassadeur) ou comité)"
    ]
    assert preview.leavers == []  # line 3's person is still in the file


def test_a_person_back_after_leaving_is_a_change(db_session: Session, tmp_path: Path) -> None:
    import_roster(
        db_session, write_csv(tmp_path / "a.csv", [person_row(1), person_row(2)]), actor="t"
    )
    import_roster(db_session, write_csv(tmp_path / "b.csv", [person_row(1)]), actor="t")
    assert (
        db_session.scalar(select(Person.status).where(Person.email == "employe2@exemple.fr"))
        == PersonStatus.LEFT
    )

    preview = preview_roster(
        db_session, write_csv(tmp_path / "c.csv", [person_row(1), person_row(2)])
    )

    assert [(c.person.email, c.rejoining) for c in preview.changed] == [
        ("employe2@exemple.fr", True)
    ]


def test_roster_diff_command_prints_the_preview(envol_context: object, tmp_path: Path) -> None:
    from plugin.cli import root

    first = write_csv(tmp_path / "v1.csv", [person_row(n) for n in range(1, 4)])
    runner = CliRunner(env={"ENVOL_LANG": "en"})  # an English operator
    assert runner.invoke(root, ["roster", "import", str(first)]).exit_code == 0
    second = write_xlsx(tmp_path / "v2.xlsx", [person_row(1), person_row(2), person_row(7)])

    result = runner.invoke(root, ["roster", "diff", str(second)])

    assert result.exit_code == 0, result.output
    assert "1 joining, 0 changing, 1 leaving, 2 unchanged" in result.output
    assert "employe7@exemple.fr" in result.output and "employe3@exemple.fr" in result.output
    assert "nothing was written" in result.output
