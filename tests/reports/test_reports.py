"""Reports on a simulated launch: tables, the self-contained HTML page, CSV, the weekly post."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from plugin.metrics.models import WeeklyReportPost
from plugin.reports.actions import candidate_actions, things_to_act_on
from plugin.reports.charts import CHARTS, dashboard_png
from plugin.reports.csv_export import export_csv
from plugin.reports.html import render_html
from plugin.reports.tables import all_tables
from plugin.reports.weekly import (
    claim_week,
    deliver,
    iso_week,
    marker_for,
    post_weekly_report,
)
from plugin.typography import NBSP
from tests.metrics.world import LaunchWorld
from tests.reports.conftest import report_data


def test_report_tables_one_base_per_row_and_no_duplicates(reported: LaunchWorld) -> None:
    data = report_data(reported, manager_figures=True)
    tables = {table.id: table for table in all_tables(data)}
    # Each wave is its own cohort here: the cohort table would repeat the wave table.
    assert set(tables) == {
        "funnel-wave",
        "funnel-department",
        "funnel-site",
        "funnel-manager",
        "spaces",
        "support-survey",
    }
    funnel = tables["funnel-wave"]
    assert "(en % des personnes de chaque groupe)" in funnel.title
    pilot = next(row for row in funnel.rows if row[0] == "Pilote")
    # Pilote: 12 people, all invited, 9 joined, 5 complete profiles by day 10 — each of the 12.
    assert pilot[1:5] == ["12", "12 (100 %)", "9 (75 %)", "5 (42 %)"]
    assert funnel.rows[-1][0] == "Tout le monde" and funnel.rows[-1][1] == "24"
    assert not any(row[0] == "Tout le monde" for row in tables["funnel-site"].rows)
    managers = [row[0] for row in tables["funnel-manager"].rows]
    assert managers == ["Prénom0 Nom0", "Prénom1 Nom1", "Prénom2 Nom2"]
    survey = {row[0]: row[1:] for row in tables["support-survey"].rows}
    assert survey["Tout le monde"][:3] == ["2", "1", "6"]  # two requests, one resolved, 6 answers
    assert survey["Pilote"][2:] == ["5", "3.4", "2.4", "2.4", "1.4"]  # means from five answers
    # One answer in Vague 0: counted, its scores not shown.
    assert survey["Vague 0"][2:] == ["1", "—", "—", "—", "—"]
    figures = [tuple(tuple(row[1:]) for row in table.rows) for table in tables.values()]
    assert len(set(figures)) == len(figures)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # filtering, not SQL
def test_per_manager_figures_only_when_the_setting_enables_them(
    reported: LaunchWorld, tmp_path: Path
) -> None:
    data = report_data(reported)
    assert "manager" not in data.groups
    assert not any(table.id == "funnel-manager" for table in all_tables(data))
    page = render_html(data, reported.settings)
    assert "par manager" not in page and "Prénom0 Nom0" not in page
    assert not any(a.kind == "manager_team" for a in candidate_actions(data, reported.settings))
    export_csv(reported.session, tmp_path)
    groups = (tmp_path / "groups.csv").read_text(encoding="utf-8-sig")
    assert ",manager," not in groups
    header = (tmp_path / "people.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "manager_id" not in header

    export_csv(reported.session, tmp_path / "on", manager_figures=True)
    with (tmp_path / "on" / "groups.csv").open(encoding="utf-8-sig") as handle:
        rows = [row for row in csv.DictReader(handle) if row["dimension"] == "manager"]
    assert {row["population"] for row in rows} == {"7"}


def test_three_things_to_act_on_name_the_laggards(reported: LaunchWorld) -> None:
    data = report_data(reported)
    candidates = [a.text for a in candidate_actions(data, reported.settings)]
    # Day 10: Ventes and RH have 3 of 6 and 2 of 4 joined people with a full profile (< 60 %).
    assert any(text.startswith("Ventes a 50 % de profils complets") for text in candidates)
    assert any(text.startswith("RH a 50 % de profils complets") for text in candidates)
    assert not any(text.startswith("Informatique a") for text in candidates)  # 60 % holds
    actions = things_to_act_on(data, reported.settings)
    assert len(actions) == 3 and len({a.kind for a in actions}) == 3
    assert [a.score for a in actions] == sorted((a.score for a in actions), reverse=True)
    # Worst of all: in Paris one of the nine who joined was active this week.
    assert actions[0].text.startswith(f"Paris{NBSP}: 11 % d'actifs cette semaine")
    english = things_to_act_on(report_data(reported, "en"), reported.settings)
    assert english[0].text.startswith("Paris: 11 % active this week")


def test_html_report_is_one_self_contained_page_with_the_four_charts(
    reported: LaunchWorld,
) -> None:
    page = render_html(report_data(reported), reported.settings)
    for chart_id, _ in CHARTS:
        assert re.search(rf'<figure class="chart" id="chart-{chart_id}"[^>]*><svg', page)
    # Nothing is loaded from anywhere: no script, stylesheet, image or font by URL.
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    assert "Trois choses à faire" in page and "Pilote" in page and "Lancement" in page


def test_csv_export_has_the_history_and_no_personalreport_data(
    reported: LaunchWorld, tmp_path: Path
) -> None:
    written = export_csv(reported.session, tmp_path, manager_figures=True)
    assert set(written) == {"groups.csv", "people.csv", "spaces.csv"}
    with (tmp_path / "groups.csv").open(encoding="utf-8-sig") as handle:
        groups = list(csv.DictReader(handle))
    days = sorted({row["day"] for row in groups})
    assert days == ["2027-01-15", "2027-01-25"]
    pilot_last = next(
        row
        for row in groups
        if row["dimension"] == "cohort" and row["label"] == "Pilote" and row["day"] == days[-1]
    )
    assert (pilot_last["joined"], pilot_last["activation_rate"]) == ("9", "75.0")
    assert pilot_last["survey_responses"] == "5" and pilot_last["survey_why_network"] == "3.4"
    lone = next(r for r in groups if r["label"] == "Vague 0" and r["day"] == days[-1])
    assert lone["survey_responses"] == "1" and lone["survey_why_network"] == ""
    people = (tmp_path / "people.csv").read_text(encoding="utf-8-sig")
    assert "@" not in people and "Prénom" not in people
    assert written["people.csv"] == 24


def test_weekly_report_is_posted_once_with_its_chart(reported: LaunchWorld) -> None:
    session, mm, settings = reported.session, reported.mm, reported.settings
    week = iso_week(reported.clock())
    row = claim_week(session, week)
    first = deliver(session, mm, settings, row)
    assert not first.already_posted
    posts = reported.sandbox.posts_in(reported.committee_id)
    assert [p["id"] for p in posts] == [first.post_id]
    post = posts[0]
    assert post["props"]["envol_marker"] == marker_for(week)
    assert "**Trois choses à faire**" in post["message"]
    assert re.search(r"\n1\. .+\n2\. .+\n3\. .+", post["message"])
    # Without the console's address, the whole report travels with the post, as an HTML file.
    assert "envol report" not in post["message"] and "est joint" in post["message"]
    file_id, page_id = post["file_ids"]
    with reported.sandbox.state.lock:
        page = reported.sandbox.state.file_contents[page_id].decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Trois choses à faire" in page
    with reported.sandbox.state.lock:
        content = reported.sandbox.state.file_contents[file_id]
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG" and image.width > 1000 and image.height > 700

    # Run again (a duplicate beat): nothing new is posted.
    again = deliver(session, mm, settings, claim_week(session, week))
    assert again.already_posted and again.post_id == first.post_id
    assert len(reported.sandbox.posts_in(reported.committee_id)) == 1


def test_post_weekly_report_claims_the_week_then_posts_once(reported: LaunchWorld) -> None:
    # The CLI's --post and the beat task share this: two runs, one post.
    session = reported.session
    sessions = sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    url = "https://envol.exemple.fr/console/reports"
    first = post_weekly_report(
        sessions, reported.mm, reported.settings, reported.clock(), report_url=url
    )
    again = post_weekly_report(sessions, reported.mm, reported.settings, reported.clock())
    assert (first.already_posted, again.already_posted) == (False, True)
    assert first.week == iso_week(reported.clock()) and again.post_id == first.post_id
    (post,) = reported.sandbox.posts_in(reported.committee_id)
    assert post["id"] == first.post_id
    # The post links to the console's report page (one chart attached), never to a command.
    assert f"]({url})" in post["message"] and "envol report" not in post["message"]
    assert len(post["file_ids"]) == 1


def test_a_crash_after_posting_does_not_post_twice(reported: LaunchWorld) -> None:
    session, mm, settings = reported.session, reported.mm, reported.settings
    week = iso_week(reported.clock())
    row = claim_week(session, week)
    delivered = deliver(session, mm, settings, row)
    # The worker died before its commit: the row lost the post id.
    row.post_id, row.posted_at = None, None
    session.flush()
    retried = deliver(session, mm, settings, claim_week(session, week))
    assert retried.already_posted and retried.post_id == delivered.post_id
    assert len(reported.sandbox.posts_in(reported.committee_id)) == 1
    stored = session.scalar(select(WeeklyReportPost).where(WeeklyReportPost.week == week))
    assert stored is not None and stored.post_id == delivered.post_id


def test_dashboard_png_uses_the_report_palette(reported: LaunchWorld) -> None:
    image = Image.open(io.BytesIO(dashboard_png(report_data(reported)))).convert("RGB")
    colours = {colour for _count, colour in image.getcolors(maxcolors=1 << 20) or []}
    for hex_colour in ("#1f6feb", "#f28c28", "#2da44e"):
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        assert rgb in colours, hex_colour
