"""The report as the executive committee sees it: charts whose texts never overlap (the PNG of
the weekly post and each SVG of the page), one colour per cohort in every chart, and names for
people — no "(none)", Mattermost's default channels in the report's language."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from plugin.metrics.measures import SURVEY_QUESTIONS
from plugin.metrics.models import GroupSnapshot, MetricsSnapshot
from plugin.reports.charts import (
    CHARTS,
    NEUTRAL,
    PALETTE,
    chart_figure,
    cohort_colours,
    dashboard_figure,
)
from plugin.reports.data import ReportData
from plugin.reports.html import render_html
from plugin.reports.tables import all_tables
from tests.metrics.world import LaunchWorld
from tests.reports.conftest import report_data

# Layout and names do not depend on the database: one backend is enough (CI time).
one_backend = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _texts(figure: Figure) -> list[tuple[str, Bbox]]:
    """Every visible text of the laid-out figure, with its box on the canvas (legends whole)."""
    canvas = FigureCanvasAgg(figure)
    renderer = canvas.get_renderer()
    figure.draw(renderer)  # runs the constrained layout, as savefig does for the PNG and SVG
    found: list[tuple[str, Bbox]] = []
    legends = [a for a in figure.findobj(Legend) if a.get_visible()]
    in_legend = {id(text) for legend in legends for text in legend.texts}
    for text in figure.findobj(Text):
        if id(text) in in_legend or not text.get_visible() or not text.get_text().strip():
            continue
        found.append((text.get_text(), text.get_window_extent(renderer)))
    for legend in legends:
        found.append(("legend", legend.get_window_extent(renderer)))
    return found


def _overlaps(figure: Figure) -> list[str]:
    problems = []
    boxes = _texts(figure)
    frame = figure.bbox
    for name, box in boxes:
        if box.x0 < frame.x0 - 1 or box.x1 > frame.x1 + 1 or box.y0 < frame.y0 - 1:
            problems.append(f"{name!r} is cut by the edge")
    for (first, a), (second, b) in itertools.combinations(boxes, 2):
        # A shared pixel is fine; a real overlap is at least two pixels both ways.
        if min(a.x1, b.x1) - max(a.x0, b.x0) > 2 and min(a.y1, b.y1) - max(a.y0, b.y0) > 2:
            problems.append(f"{first!r} overlaps {second!r}")
    return problems


@one_backend
def test_no_text_or_legend_overlaps_in_the_png_or_the_svgs(reported: LaunchWorld) -> None:
    # The PNG in both languages; the SVGs in French, whose labels are the longer.
    assert _overlaps(dashboard_figure(report_data(reported, "en"))) == []
    data = report_data(reported, "fr")
    assert _overlaps(dashboard_figure(data)) == []
    for chart_id, _ in CHARTS:
        assert _overlaps(chart_figure(chart_id, data)) == [], chart_id


def test_the_overlap_check_sees_an_overlap() -> None:
    figure = Figure(figsize=(4, 3))
    ax = figure.add_subplot()
    ax.text(0.5, 0.5, "un libellé")
    ax.text(0.52, 0.5, "un autre libellé")
    assert _overlaps(figure)


def _bar_groups(ax: Axes) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


@one_backend
def test_each_cohort_keeps_its_colour_in_every_chart(reported: LaunchWorld) -> None:
    data = report_data(reported)
    colours = cohort_colours(data)
    names = {row.key: row.label for row in data.groups["cohort"]}
    assert len(set(colours.values())) == len(colours) == 3 and NEUTRAL not in colours.values()
    expected = {names[key]: colour for key, colour in colours.items()}

    funnel = chart_figure("funnel", data).axes[0]
    for bars in _bar_groups(funnel):
        label = str(bars.get_label()).rsplit(" (", 1)[0]
        assert to_hex(bars.patches[0].get_facecolor()) == expected[label], label

    weekly = chart_figure("weekly-active", data).axes[0]
    for line in weekly.get_lines():
        name = str(line.get_label())
        if name in expected:
            assert to_hex(line.get_color()) == expected[name]

    # The survey is per wave, each wave in its cohort's colour; Vague 0's single answer is not
    # shown (it would tell what one person answered).
    wave_cohort = {"Pilote": "Pilote"}
    survey = chart_figure("survey", data).axes[0]
    seen = set()
    for bars in _bar_groups(survey):
        label = str(bars.get_label()).rsplit(" (", 1)[0]
        if label in wave_cohort:
            seen.add(label)
            assert to_hex(bars.patches[0].get_facecolor()) == expected[wave_cohort[label]]
    assert seen == set(wave_cohort)
    # The PNG has one legend for its four charts, each cohort with its colour.
    (legend,) = dashboard_figure(data).legends
    shown = {
        text.get_text(): to_hex(patch.get_facecolor())
        for text, patch in zip(legend.texts, legend.get_patches(), strict=False)
    }
    assert shown == expected
    # Departments are not cohorts: never a cohort's colour.
    profiles = chart_figure("profiles-by-department", data).axes[0]
    assert {to_hex(p.get_facecolor()) for p in profiles.patches} == {NEUTRAL}


@one_backend
def test_names_are_for_people_in_the_report_language(reported: LaunchWorld) -> None:
    for lang, town_square, off_topic, blank in (
        ("fr", "Place du village", "Hors sujet", "non renseigné"),
        ("en", "Town Square", "Off-Topic", "not given"),
    ):
        data = report_data(reported, lang)
        spaces = next(table for table in all_tables(data) if table.id == "spaces")
        names = [row[0] for row in spaces.rows]
        assert town_square in names and off_topic in names
        if lang == "fr":
            page = render_html(data, reported.settings)
            assert "(none)" not in page and town_square in page
            assert "town-square" not in page.lower() and "Town Square" not in page
        nobody = GroupSnapshot(dimension="department", key="", label="(none)")
        assert data.label(nobody) == blank


def _crowded_launch(lang: str) -> ReportData:
    """A big company's report, built in memory: eight waves with long names, each its own
    cohort, twelve departments, four weeks of history, survey answers in every wave."""
    day = dt.date(2027, 3, 29)
    snapshot = MetricsSnapshot(id=1, day=day)
    survey = {f"survey_{q}": 3.5 for q, _, _ in SURVEY_QUESTIONS}

    def group(dimension: str, key: str, label: str, people: int, week: int = 4) -> GroupSnapshot:
        joined = people * (40 + 10 * week) // 100
        return GroupSnapshot(
            day=day - dt.timedelta(weeks=4 - week),
            dimension=dimension,
            key=key,
            label=label,
            population=people,
            invited=people,
            joined=joined,
            profile_complete=joined // 2,
            active_7d=joined * 2 // 3,
            contributed_7d=joined // 4,
            contributed_28d=joined // 3,
            survey_responses=people // 10,
            **survey,
        )

    waves = [f"Vague {n} — direction régionale Auvergne-Rhône-Alpes" for n in range(8)]
    cohorts = [group("cohort", str(n), name, 150 + 10 * n) for n, name in enumerate(waves)]
    history = {
        f"cohort:{n}": [group("cohort", str(n), name, 150, w) for w in range(5)]
        for n, name in enumerate(waves)
    }
    history["all"] = [group("all", "all", "all", 1500, w) for w in range(5)]
    return ReportData(
        company="Exemple SA",
        lang=lang,  # type: ignore[arg-type]
        snapshot=snapshot,
        groups={
            "all": [group("all", "all", "all", 1500)],
            "cohort": cohorts,
            "wave": [group("wave", str(n), name, 150) for n, name in enumerate(waves)],
            "department": [
                group("department", f"d{n}", f"Service {n} — relations fournisseurs", 60)
                for n in range(12)
            ],
        },
        spaces=[],
        history=history,
        names={("cohort", str(n)): name for n, name in enumerate(waves)},
        wave_cohorts={str(n): str(n) for n in range(8)},
    )


def test_a_crowded_launch_still_has_no_overlap_and_one_colour_per_cohort() -> None:
    data = _crowded_launch("fr")
    assert _overlaps(dashboard_figure(data)) == []
    for chart_id in ("funnel", "weekly-active"):  # the most bars, the longest legend
        assert _overlaps(chart_figure(chart_id, data)) == [], chart_id
    assert len(set(cohort_colours(data).values())) == 8 <= len(PALETTE)
