"""Roster files for tests, written the way HR tools write them."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy.orm import Session

FRENCH_HEADER = ["Courriel", "Prénom", "NOM", "Service", "Site", "E-mail du manager", "Rôle",
                 "Langue", "Volontaire"]  # fmt: skip


def person_row(number: int, **overrides: str) -> list[str]:
    values = {
        "email": f"Employé{number}@Exemple.FR".replace("é", "e"),
        "first": "Hélène" if number % 2 else "François",
        "last": f"Dupré-{number}",
        "department": "Ventes" if number % 3 else "Recherche & développement",
        "site": "Lyon" if number % 2 else "Paris",
        "manager": "employe1@exemple.fr" if number > 1 else "",
        "role": "manager" if number == 1 else "employé",
        "language": "fr",
        "volunteer": "oui" if number % 10 == 0 else "non",
    }
    values.update(overrides)
    return list(values.values())


def write_csv(
    path: Path,
    rows: list[list[str]],
    *,
    header: list[str] | None = None,
    delimiter: str = ";",
    encoding: str = "cp1252",
) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header or FRENCH_HEADER)
        writer.writerows(rows)
    return path


def plan_forty_people(session: Session, folder: Path) -> Session:
    """Forty people imported (employe1 manages the others, employe5 is a champion), then the
    pilot and two general waves planned."""
    from plugin.cohorts.service import apply_plan, build_plan
    from plugin.people.service import import_roster
    from plugin.settings import runtime_settings_from_config

    rows = [person_row(n) for n in range(1, 41)]
    rows[4][6] = "champion"
    import_roster(session, write_csv(folder / "r.csv", rows), actor="test")
    settings = runtime_settings_from_config({})
    apply_plan(session, build_plan(session, settings, percent=10, seed=1, general_waves=2),
               actor="test")  # fmt: skip
    return session


def write_xlsx(path: Path, rows: list[list[object]], *, header: list[str] | None = None) -> Path:
    """A workbook as Excel saves it: the roster on the first sheet, a note on a second one."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Effectif"
    sheet.append(header or FRENCH_HEADER)
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("Notes").append(["exported by HR"])
    workbook.save(path)
    return path
