from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.models import AuditEvent
from plugin.errors import ValidationFailed
from plugin.people.models import Language, Person, PersonRole, PersonStatus
from plugin.people.roster import detect_delimiter, header_key, open_roster
from plugin.people.service import import_roster
from tests.people.rosters import person_row, write_csv


def count_people(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Person)) or 0


def nasty_rows() -> list[list[str]]:
    """60 people; line 30 repeats line 10's address in capitals; line 57 has a bad address."""
    rows = [person_row(n) for n in range(1, 61)]
    # File line = index + 2 (the header is line 1).
    rows[28][0] = "  EMPLOYE9@exemple.fr "  # line 30, same as line 10 (employe9) but for case
    rows[55][0] = "jean.dupont@@exemple"  # line 57
    return rows


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig"])
def test_nasty_roster_reports_exactly_its_problems_and_imports_nothing(
    db_session: Session, tmp_path: Path, encoding: str
) -> None:
    path = write_csv(tmp_path / "rh.csv", nasty_rows(), encoding=encoding)

    with pytest.raises(ValidationFailed) as caught:
        import_roster(db_session, path, actor="test")

    assert [str(p) for p in caught.value.problems] == [
        "line 30: duplicate e-mail 'employe9@exemple.fr' (first on line 10)",
        "line 57: invalid e-mail 'jean.dupont@@exemple'",
    ]
    assert "nothing was imported" in str(caught.value)
    assert count_people(db_session) == 0


def test_fixed_nasty_roster_imports_with_accents_intact(
    db_session: Session, tmp_path: Path
) -> None:
    rows = nasty_rows()
    rows[28][0] = "employe29@exemple.fr"
    rows[55][0] = "employe56@exemple.fr"
    path = write_csv(tmp_path / "rh.csv", rows)

    report = import_roster(db_session, path, actor="test")

    assert (report.encoding, report.delimiter) == ("cp1252", ";")
    assert report.created == 60 and count_people(db_session) == 60
    helene = db_session.scalar(select(Person).where(Person.email == "employe3@exemple.fr"))
    assert helene is not None
    assert (helene.first_name, helene.last_name, helene.department) == (
        "Hélène", "Dupré-3", "Recherche & développement",
    )  # fmt: skip
    boss = db_session.scalar(select(Person).where(Person.email == "employe1@exemple.fr"))
    assert boss is not None and boss.role == PersonRole.MANAGER
    assert helene.manager_id == boss.id
    assert (
        db_session.scalar(
            select(func.count()).select_from(Person).where(Person.volunteer.is_(True))
        )
        == 6
    )


def test_english_headers_with_commas_in_quoted_fields(db_session: Session, tmp_path: Path) -> None:
    header = ["E-Mail Address", "First Name", "last name", "DEPARTMENT", "Location",
              "Manager email", "Role", "Language", "Volunteer", "Salary"]  # fmt: skip
    rows = [
        ["boss@corp.example", "Ann", "Lee, Jr.", "Sales, EMEA", "London", "", "Manager", "English",
         "no", "99"],
        ["dev@corp.example", "Bob", "Stone", "Sales, EMEA", "London", "BOSS@corp.example",
         "champion", "", "yes", "50"],
    ]  # fmt: skip
    path = write_csv(tmp_path / "hr.csv", rows, header=header, delimiter=",", encoding="utf-8")

    report = import_roster(db_session, path, actor="test", default_language=Language.FR)

    assert report.delimiter == "," and report.ignored_columns == ["Salary"]
    ann = db_session.scalar(select(Person).where(Person.email == "boss@corp.example"))
    bob = db_session.scalar(select(Person).where(Person.email == "dev@corp.example"))
    assert ann is not None and bob is not None
    assert (ann.last_name, ann.department, ann.language) == ("Lee, Jr.", "Sales, EMEA", Language.EN)
    assert (bob.role, bob.volunteer, bob.language, bob.manager_id) == (
        PersonRole.CHAMPION, True, Language.FR, ann.id,
    )  # fmt: skip


def test_unknown_manager_role_and_language_are_reported(
    db_session: Session, tmp_path: Path
) -> None:
    rows = [person_row(1), person_row(2, manager="ghost@exemple.fr"), person_row(3, role="boss"),
            person_row(4, language="de"), person_row(5, volunteer="peut-être")]  # fmt: skip
    path = write_csv(tmp_path / "rh.csv", rows)

    with pytest.raises(ValidationFailed) as caught:
        import_roster(db_session, path, actor="test")

    assert [str(p) for p in caught.value.problems] == [
        "line 3: unknown manager 'ghost@exemple.fr': not a valid line of this roster",
        "line 4: unknown role 'boss' in column 'Rôle' (expected employé, manager "
        "(ou responsable), champion (ou ambassadeur) ou comité)",
        "line 5: unknown language 'de' (expected fr or en)",
        "line 6: unknown volunteer value 'peut-être' in column 'Volontaire' (expected oui ou non)",
    ]


def test_skip_invalid_imports_the_valid_rows(db_session: Session, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "rh.csv", nasty_rows())

    report = import_roster(db_session, path, actor="test", skip_invalid=True)

    assert report.invalid_lines == [30, 57]
    assert report.created == 58 and count_people(db_session) == 58


def test_missing_required_column_names_the_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "rh.csv", [["a@b.fr", "Ann"]], header=["Courriel", "Prénom"])

    with pytest.raises(ValidationFailed) as caught:
        open_roster(path)

    assert str(caught.value.problems[0]).startswith("line 1: missing column(s) last_name")


def test_reimport_upserts_marks_leavers_and_brings_them_back(
    db_session: Session, tmp_path: Path
) -> None:
    first = write_csv(tmp_path / "v1.csv", [person_row(n) for n in range(1, 11)])
    import_roster(db_session, first, actor="test")
    second_rows = [person_row(n) for n in range(1, 9)]
    second_rows[1][4] = "Nantes"  # employe2 moved
    second_rows.append(person_row(11))
    second = write_csv(tmp_path / "v2.csv", second_rows)

    report = import_roster(db_session, second, actor="test")

    assert (report.created, report.updated, report.unchanged, report.marked_left) == (1, 1, 7, 2)
    assert count_people(db_session) == 11  # nobody deleted
    left = db_session.scalars(
        select(Person.email).where(Person.status == PersonStatus.LEFT).order_by(Person.email)
    ).all()
    assert left == ["employe10@exemple.fr", "employe9@exemple.fr"]

    back = import_roster(db_session, first, actor="test")
    assert back.rejoined == 2 and back.marked_left == 1  # employe11 is not in v1
    audit = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "roster.imported"))
    assert all("@" not in str(event.details) for event in audit)


def test_invalid_line_of_a_known_person_does_not_mark_them_as_left(
    db_session: Session, tmp_path: Path
) -> None:
    import_roster(db_session, write_csv(tmp_path / "v1.csv", [person_row(n) for n in range(1, 4)]),
                  actor="test")  # fmt: skip
    rows = [person_row(1), person_row(2, role="chef"), person_row(3)]

    report = import_roster(db_session, write_csv(tmp_path / "v2.csv", rows), actor="test",
                           skip_invalid=True)  # fmt: skip

    assert report.marked_left == 0


def test_reimport_writes_only_changed_rows_and_keeps_invalid_known_lines(
    db_session: Session, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    first = import_roster(
        db_session, write_csv(tmp_path / "v1.csv", [person_row(n) for n in range(1, 6)]),
        actor="test",
    )  # fmt: skip
    frozen_clock.advance(dt.timedelta(days=1))
    # employe2 changes site; employe3's line is invalid, employe4's repeated on an invalid line.
    rows = [person_row(1), person_row(2), person_row(3, role="chef"), person_row(4), person_row(4)]
    rows[1][4] = "Nantes"

    report = import_roster(db_session, write_csv(tmp_path / "v2.csv", rows), actor="test",
                           skip_invalid=True)  # fmt: skip

    assert (report.updated, report.unchanged, report.marked_left) == (1, 2, 1)
    db_session.expire_all()
    people = {p.email.split("@")[0]: p for p in db_session.scalars(select(Person))}
    assert people["employe5"].status == PersonStatus.LEFT
    assert people["employe3"].status == PersonStatus.ACTIVE  # on an invalid line, not a leaver
    assert people["employe2"].last_seen_import_id == report.import_id
    assert people["employe2"].updated_at == clock.now()
    for unchanged in ("employe1", "employe4"):  # not written at all
        assert people[unchanged].last_seen_import_id == first.import_id
        assert people[unchanged].updated_at < clock.now()


def test_new_people_are_inserted_with_their_managers_linked(
    db_session: Session, tmp_path: Path
) -> None:
    # employe2's manager is employe4, on a later line; employe1 has none.
    rows = [person_row(1), person_row(2, manager="employe4@exemple.fr"), person_row(3),
            person_row(4)]  # fmt: skip
    import_roster(db_session, write_csv(tmp_path / "v1.csv", rows), actor="test")
    # Next roster: employe5 is new, managed by employe2 who is already known.
    rows.append(person_row(5, manager="employe2@exemple.fr"))
    report = import_roster(db_session, write_csv(tmp_path / "v2.csv", rows), actor="test")
    db_session.add(Person(email="after@exemple.fr", first_name="A", last_name="B"))
    db_session.flush()  # ids taken for the imported people do not collide with later ones

    assert (report.created, report.unchanged) == (1, 4)
    ids = dict(db_session.execute(select(Person.email, Person.id)).tuples().all())
    managers = dict(db_session.execute(select(Person.email, Person.manager_id)).tuples().all())
    assert managers == {
        "employe1@exemple.fr": None,
        "employe2@exemple.fr": ids["employe4@exemple.fr"],
        "employe3@exemple.fr": ids["employe1@exemple.fr"],
        "employe4@exemple.fr": ids["employe1@exemple.fr"],
        "employe5@exemple.fr": ids["employe2@exemple.fr"],
        "after@exemple.fr": None,
    }
    ordered = [ids[f"employe{n}@exemple.fr"] for n in range(1, 6)]
    assert ordered == sorted(ordered)  # in file order, as before


def test_dry_run_counts_exactly_and_changes_nothing(db_session: Session, tmp_path: Path) -> None:
    import_roster(db_session, write_csv(tmp_path / "v1.csv", [person_row(n) for n in range(1, 6)]),
                  actor="test")  # fmt: skip
    path = write_csv(tmp_path / "v2.csv", [person_row(n) for n in range(1, 4)] + [person_row(9)])

    report = import_roster(db_session, path, actor="test", dry_run=True)

    assert (report.created, report.unchanged, report.marked_left) == (1, 3, 2)
    assert count_people(db_session) == 5
    assert (
        db_session.scalar(
            select(func.count()).select_from(Person).where(Person.status == PersonStatus.LEFT)
        )
        == 0
    )


def test_header_key_ignores_case_accents_and_punctuation() -> None:
    assert header_key("  PRÉNOM ") == "prenom"
    assert header_key("E-mail du Manager") == "e mail du manager"


@pytest.mark.parametrize(
    ("header", "sample", "expected"),
    [
        ("a;b;c", "a;b;c\n1;2;3\n", ";"),
        ("a,b,c", 'a,b,c\n"x;y",2,3\n', ","),
        ("a\tb", "a\tb\n1\t2\n", "\t"),
    ],
)
def test_delimiter_detection(header: str, sample: str, expected: str) -> None:
    assert detect_delimiter(header, sample) == expected


def test_a_known_person_moved_under_a_new_manager_is_linked(
    db_session: Session, tmp_path: Path
) -> None:
    rows = [person_row(1), person_row(2), person_row(3)]
    import_roster(db_session, write_csv(tmp_path / "v1.csv", rows), actor="test")
    # employe3 now reports to employe4, who joins in the same file; nothing else changes.
    rows = [person_row(1), person_row(2), person_row(3, manager="employe4@exemple.fr"),
            person_row(4)]  # fmt: skip

    report = import_roster(db_session, write_csv(tmp_path / "v2.csv", rows), actor="test")

    assert (report.created, report.updated, report.unchanged) == (1, 0, 3)
    ids = dict(db_session.execute(select(Person.email, Person.id)).tuples().all())
    managers = dict(db_session.execute(select(Person.email, Person.manager_id)).tuples().all())
    assert managers["employe3@exemple.fr"] == ids["employe4@exemple.fr"]
    assert managers["employe2@exemple.fr"] == ids["employe1@exemple.fr"]


def test_the_import_leaves_the_sessions_jit_setting_as_it_found_it(
    db_session: Session, tmp_path: Path
) -> None:
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("JIT is a PostgreSQL setting")
    db_session.execute(text("SET LOCAL jit = on"))

    import_roster(db_session, write_csv(tmp_path / "v1.csv", [person_row(1)]), actor="test")

    assert db_session.scalar(text("SHOW jit")) == "on"
