"""The report's charts, drawn with matplotlib's Agg renderer: SVG for the page, PNG for posts.

Figures are built with ``matplotlib.figure.Figure`` directly, never ``pyplot``: no global state,
no GUI backend (a bare ``Figure`` saves PNG through Agg), safe in a worker thread. SVG text is
drawn as paths, so the page needs no font and loads nothing. Each chart gets its own
``svg.hashsalt``: several SVGs inlined in one page must not share clip-path ids, or one chart
would be clipped by another's rectangle.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from typing import Any

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from plugin.metrics.measures import FUNNEL_STEPS, SURVEY_QUESTIONS, percent
from plugin.reports.data import ReportData, survey_shown
from plugin.reports.texts import t

# The cohorts' palette: each cohort keeps one colour in every chart (``cohort_colours``).
# Ten colours: past ten cohorts they come round again.
PALETTE = (
    "#1f6feb", "#f28c28", "#2da44e", "#cf222e", "#8250df",
    "#bf8700", "#0a7ea4", "#e377c2", "#8c564b", "#17becf",
)  # fmt: skip
GRID = "#d0d7de"
TEXT = "#24292f"
# Everyone, and groups that are not cohorts (departments): never a cohort's colour.
NEUTRAL = "#6e7781"

_STYLE: dict[Any, Any] = {
    "svg.fonttype": "path",
    "font.size": 9,
    "axes.edgecolor": GRID,
    "axes.labelcolor": TEXT,
    "xtick.color": TEXT,
    "ytick.color": TEXT,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
# Bars carry their counts only while there is room for them (the tables have every count).
_MAX_LABELLED_BAR_GROUPS = 3


def cohort_colours(data: ReportData) -> dict[str, str]:
    """One colour per cohort key, the same in every chart (cohorts in their order of creation)."""
    return {key: PALETTE[index % len(PALETTE)] for index, key in enumerate(data.cohort_order())}


def _colour_of(data: ReportData, dimension: str, key: str) -> str:
    """A cohort's colour; a wave takes its cohort's; everyone else is neutral."""
    colours = cohort_colours(data)
    if dimension == "wave":
        key, dimension = data.wave_cohorts.get(key, ""), "cohort"
    return colours.get(key, NEUTRAL) if dimension == "cohort" else NEUTRAL


def _wrapped(label: str, width: int = 13) -> str:
    """An axis label on short lines, so that neighbours never run into each other."""
    return "\n".join(textwrap.wrap(label, width, break_on_hyphens=False)) or label


def _legend_beside(ax: Axes) -> None:
    """The legend to the right of the plot: it never hides a bar, a point or a label."""
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles,
        [_wrapped(label, 28) for label in labels],
        fontsize=8,
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )


def _no_data(ax: Axes, data: ReportData) -> None:
    ax.text(0.5, 0.5, t("no_data", data.lang), ha="center", va="center", color=TEXT)
    ax.set_axis_off()


def draw_funnel(ax: Axes, data: ReportData) -> None:
    """Grouped bars: each funnel step as a % of the cohort, one colour per cohort."""
    cohorts = [row for row in data.groups.get("cohort", []) if row.population]
    ax.set_title(t("chart_funnel", data.lang), loc="left", fontsize=11)
    if not cohorts:
        _no_data(ax, data)
        return
    cohorts.sort(key=lambda row: data.cohort_order().index(row.key))
    steps = [(attr, fr if data.lang == "fr" else en) for attr, fr, en in FUNNEL_STEPS]
    width = 0.8 / len(cohorts)
    for index, row in enumerate(cohorts):
        values = [percent(getattr(row, attr), row.population) or 0.0 for attr, _ in steps]
        positions = [step + (index - (len(cohorts) - 1) / 2) * width for step in range(len(steps))]
        bars = ax.bar(
            positions,
            values,
            width=width * 0.95,
            color=_colour_of(data, "cohort", row.key),
            label=f"{data.label(row)} ({row.population})",
        )
        if len(cohorts) <= _MAX_LABELLED_BAR_GROUPS:
            counts = [getattr(row, attr) for attr, _ in steps]
            ax.bar_label(bars, labels=[str(c) for c in counts], fontsize=7, padding=1)
    ax.set_xticks(range(len(steps)), [_wrapped(label) for _, label in steps], fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(t("percent_of_cohort", data.lang))
    ax.yaxis.grid(True, color=GRID, linewidth=0.5)
    ax.set_axisbelow(True)
    _legend_beside(ax)


def draw_weekly_active(ax: Axes, data: ReportData) -> None:
    """One line per cohort (and everyone, dashed): active in the last 7 days / joined."""
    ax.set_title(t("chart_weekly", data.lang), loc="left", fontsize=11)
    series = [(key, rows) for key, rows in data.history.items() if any(r.joined for r in rows)]
    if not series:
        _no_data(ax, data)
        return
    order = data.cohort_order()
    for key, rows in sorted(
        series, key=lambda item: -1 if item[0] == "all" else order.index(item[0].split(":", 1)[1])
    ):
        points = [(r.day, percent(r.active_7d, r.joined)) for r in rows if r.joined]
        days: list[Any] = [day for day, _ in points]  # matplotlib plots dates natively
        values = [value or 0.0 for _, value in points]
        if key == "all":
            # On top of the cohorts' lines, so that it stays visible where they overlap.
            ax.plot(
                days,
                values,
                color=TEXT,
                linestyle="--",
                linewidth=1.5,
                marker="o",
                markersize=3,
                label=t("everyone", data.lang),
                zorder=5,
            )
        else:
            cohort_key = key.split(":", 1)[1]
            ax.plot(
                days,
                values,
                color=_colour_of(data, "cohort", cohort_key),
                linewidth=2,
                marker="o",
                markersize=3,
                label=data.names.get(("cohort", cohort_key), key),
            )
    ax.set_ylim(0, 105)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(t("percent_of_joined", data.lang))
    ax.yaxis.grid(True, color=GRID, linewidth=0.5)
    ax.xaxis.set_major_locator(AutoDateLocator(maxticks=6))
    ax.xaxis.set_major_formatter(DateFormatter("%d/%m" if data.lang == "fr" else "%b %d"))
    _legend_beside(ax)


def draw_profiles_by_department(ax: Axes, data: ReportData) -> None:
    """Horizontal bars, worst first: complete profiles among joined people per department."""
    ax.set_title(t("chart_profiles", data.lang), loc="left", fontsize=11)
    rows = [row for row in data.groups.get("department", []) if row.joined]
    if not rows:
        _no_data(ax, data)
        return
    # barh draws the first row at the bottom: sort best first so the worst ends up on top.
    rows.sort(key=lambda r: (-(percent(r.profile_complete, r.joined) or 0.0), data.label(r)))
    values = [percent(r.profile_complete, r.joined) or 0.0 for r in rows]
    bars = ax.barh([data.label(r) for r in rows], values, color=NEUTRAL, height=0.6)
    ax.bar_label(bars, labels=[f"{v:.0f} %" for v in values], fontsize=7, padding=2)
    ax.set_xlim(0, 118)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel(t("percent_of_joined", data.lang))
    ax.xaxis.grid(True, color=GRID, linewidth=0.5)
    ax.set_axisbelow(True)


def draw_survey(ax: Axes, data: ReportData) -> None:
    """The four launch questions: mean answer for everyone, and per wave in its cohort's colour."""
    ax.set_title(t("chart_survey", data.lang), loc="left", fontsize=11)
    groups = [
        r for r in data.groups.get("all", []) + data.groups.get("wave", []) if survey_shown(r)
    ]
    if not groups:
        _no_data(ax, data)
        return
    questions = [(q, fr if data.lang == "fr" else en) for q, fr, en in SURVEY_QUESTIONS]
    width = 0.8 / len(groups)
    for index, row in enumerate(groups):
        values = [getattr(row, f"survey_{q}") or 0.0 for q, _ in questions]
        positions = [i + (index - (len(groups) - 1) / 2) * width for i in range(len(questions))]
        ax.bar(
            positions,
            values,
            width=width * 0.95,
            color=TEXT if row.dimension == "all" else _colour_of(data, "wave", row.key),
            label=f"{data.label(row)} ({row.survey_responses})",
        )
    ax.set_xticks(
        range(len(questions)), [_wrapped(label, 16) for _, label in questions], fontsize=8
    )
    ax.set_ylim(0, 5.4)
    ax.set_yticks(range(6))
    ax.set_ylabel(t("score", data.lang))
    ax.yaxis.grid(True, color=GRID, linewidth=0.5)
    ax.set_axisbelow(True)
    _legend_beside(ax)


Drawer = Callable[[Axes, ReportData], None]

# (id in the page, drawer). The HTML report shows them in this order.
CHARTS: tuple[tuple[str, Drawer], ...] = (
    ("funnel", draw_funnel),
    ("weekly-active", draw_weekly_active),
    ("profiles-by-department", draw_profiles_by_department),
    ("survey", draw_survey),
)


def _render(figure: Figure, fmt: str, salt: str) -> bytes:
    buffer = io.BytesIO()
    with rc_context({"svg.hashsalt": salt}):
        figure.savefig(buffer, format=fmt, dpi=110, metadata={"Date": None} if fmt == "svg" else {})
    return buffer.getvalue()


def chart_figure(chart_id: str, data: ReportData) -> Figure:
    """One chart, laid out (constrained layout: no label, legend or title overlaps another)."""
    drawer = dict(CHARTS)[chart_id]
    height = 4.2
    if chart_id == "profiles-by-department":
        # One bar per department: the chart grows with them instead of squeezing or bloating.
        height = min(12.0, max(2.4, 1.2 + 0.32 * len(data.groups.get("department", []))))
    with rc_context(_STYLE):
        figure = Figure(figsize=(8, height), layout="constrained")
        ax = figure.add_subplot()
        drawer(ax, data)
        legend = ax.get_legend()
        if legend is not None:
            # A long legend beside the chart makes it taller rather than running off the page.
            lines = sum(text.get_text().count("\n") + 1 for text in legend.texts)
            figure.set_figheight(max(height, 0.9 + 0.2 * lines))
    return figure


def chart_svg(chart_id: str, data: ReportData) -> str:
    """One chart as an ``<svg>`` element, ready to inline in HTML (no XML prologue)."""
    with rc_context(_STYLE):
        svg = _render(chart_figure(chart_id, data), "svg", salt=f"envol-{chart_id}")
    text = svg.decode("utf-8")
    return text[text.index("<svg") :]


def dashboard_figure(data: ReportData) -> Figure:
    """All four charts on one figure, for the weekly post in Mattermost."""
    with rc_context(_STYLE):
        figure = Figure(figsize=(16, 9.5), layout="constrained")
        figure.suptitle(
            t("title", data.lang, company=data.company)
            + " — "
            + t("snapshot_of", data.lang, day=data.day.isoformat()),
            fontsize=13,
        )
        axes = figure.subplots(2, 2)
        for ax, (_chart_id, drawer) in zip(axes.flat, CHARTS, strict=True):
            drawer(ax, data)
            legend = ax.get_legend()
            if legend is not None:
                legend.remove()
        _shared_legend(figure, data)
    return figure


def _shared_legend(figure: Figure, data: ReportData) -> None:
    """One legend under the four charts: a cohort has one colour in all of them (its waves
    too), everyone is dark, dashed on the lines."""
    names = {key: name for (dimension, key), name in data.names.items() if dimension == "cohort"}
    names.update({row.key: row.label for row in data.groups.get("cohort", [])})
    # Cohorts drawn somewhere: people in the latest snapshot, or joined ones in the history.
    drawn = {row.key for row in data.groups.get("cohort", []) if row.population}
    drawn |= {
        key.split(":", 1)[1]
        for key, rows in data.history.items()
        if key.startswith("cohort:") and any(row.joined for row in rows)
    }
    handles: list[Any] = [
        Patch(facecolor=colour, label=_wrapped(names.get(key, key), 32))
        for key, colour in cohort_colours(data).items()
        if key in drawn
    ]
    handles.append(Line2D([], [], color=TEXT, linestyle="--", label=t("everyone", data.lang)))
    figure.legend(
        handles=handles, loc="outside lower center", ncols=min(4, len(handles)), frameon=False
    )


def dashboard_png(data: ReportData) -> bytes:
    """All four charts on one PNG, for the weekly post in Mattermost."""
    with rc_context(_STYLE):
        return _render(dashboard_figure(data), "png", salt="envol-dashboard")
