"""Who the figures count and show: the demo's test cohorts never; groups of fewer than five
people by department, site or manager never shown, in the report as in the CSV files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from plugin.cohorts.models import Cohort, CohortKind, CohortMember, Wave, WaveStatus
from plugin.metrics.service import take_snapshot
from plugin.people.models import Person
from plugin.reports.csv_export import export_csv
from plugin.reports.data import load_report_data
from plugin.reports.html import render_html
from plugin.reports.tables import all_tables
from tests.metrics.world import LaunchWorld


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one backend: CI time
def test_test_cohorts_are_left_out_and_small_groups_hidden(
    world: LaunchWorld, tmp_path: Path
) -> None:
    session = world.session
    lawyer = Person(
        email="juriste@exemple.fr", first_name="Jeanne", last_name="Juriste", department="Juridique"
    )
    testers = [
        Person(email=f"essai{i}@exemple.fr", first_name="Essai", last_name=str(i), site="Lyon")
        for i in range(2)
    ]
    session.add_all([lawyer, *testers])
    trial = Cohort(name="Démo support", kind=CohortKind.TEST)
    session.add(trial)
    session.flush()
    session.add_all(CohortMember(cohort_id=trial.id, person_id=p.id) for p in testers)
    session.add(Wave(name="Démo support", cohort_id=trial.id, position=99, status=WaveStatus.OPEN))
    session.flush()
    take_snapshot(session, world.mm, world.settings)

    data = load_report_data(session, company="Exemple SA", lang="fr", manager_figures=True)
    assert data.overall is not None and data.overall.population == 25  # 24 + the lawyer
    shown = {data.label(row) for dimension in ("cohort", "wave") for row in data.groups[dimension]}
    assert "Démo support" not in shown
    # Paris and Lyon, 12 each: the testers are not counted in Lyon's.
    assert sorted(data.label(r) for r in data.groups["site"]) == ["Lyon", "Paris"]
    assert {row.population for row in data.groups["site"]} == {12}
    # Jeanne alone in her department, and the blank site she shares with nobody else: hidden.
    assert "Juridique" not in {data.label(r) for r in data.groups["department"]}
    assert data.hidden == {"department": 1, "site": 1}
    department = next(t for t in all_tables(data) if t.id == "funnel-department")
    assert department.note.startswith("1 groupe(s) de moins de 5 personnes non montré(s)")
    page = render_html(data, world.settings)
    assert "Juridique" not in page and "Démo support" not in page
    assert "1 groupe(s) de moins de 5 personnes" in page

    export_csv(session, tmp_path)
    with (tmp_path / "groups.csv").open(encoding="utf-8-sig") as handle:
        groups = list(csv.DictReader(handle))
    assert all(int(row["population"]) >= 5 for row in groups if row["dimension"] != "cohort")
    assert "Démo support" not in {row["label"] for row in groups}
    with (tmp_path / "people.csv").open(encoding="utf-8-sig") as handle:
        people = list(csv.DictReader(handle))
    assert len(people) == 25 and "Juridique" not in {row["department"] for row in people}
