"""The report's tables, built once and shown in the terminal (rich) or the HTML page."""

from __future__ import annotations

from dataclasses import dataclass

from plugin.metrics.measures import FUNNEL_STEPS, SURVEY_QUESTIONS, percent
from plugin.metrics.models import GroupSnapshot
from plugin.reports.data import MIN_GROUP_SIZE, ReportData, survey_shown
from plugin.reports.texts import pct, t


@dataclass(frozen=True)
class ReportTable:
    id: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


# The order of the funnel tables: the launch's plan first, then how the company is organised.
TABLE_DIMENSIONS = ("wave", "cohort", "department", "site", "manager")


def _count_and_rate(count: int, whole: int) -> str:
    rate = percent(count, whole)
    return f"{count} ({pct(rate)})" if rate is not None else str(count)


def _funnel_row(data: ReportData, row: GroupSnapshot) -> list[str]:
    """One group: its people, then each funnel step as a count and a % of those same people."""
    return [
        data.label(row),
        str(row.population),
        *[_count_and_rate(getattr(row, attr), row.population) for attr, _, _ in FUNNEL_STEPS],
        str(row.posts_7d),
        str(row.replies_7d),
    ]


def _figures(row: list[str]) -> tuple[str, ...]:
    return tuple(row[1:])


def funnel_tables(data: ReportData) -> list[ReportTable]:
    """One funnel table per dimension, every rate of a row a % of that row's people (said in the
    title); the first table ends with everyone; a dimension whose figures repeat a table shown
    before (each wave its own cohort) is left out."""
    lang = data.lang
    columns = [
        t("group", lang),
        t("population", lang),
        *[fr if lang == "fr" else en for _, fr, en in FUNNEL_STEPS],
        t("posts_7d", lang),
        t("replies_7d", lang),
    ]
    tables: list[ReportTable] = []
    seen: list[list[tuple[str, ...]]] = []
    for dimension in TABLE_DIMENSIONS:
        groups = data.groups.get(dimension) or []
        ordered = sorted(groups, key=lambda r: data.label(r).lower())
        rows = [_funnel_row(data, row) for row in ordered]
        figures = sorted(_figures(row) for row in rows)
        hidden = data.hidden.get(dimension, 0)
        note = t("hidden_groups", lang, count=hidden, minimum=MIN_GROUP_SIZE) if hidden else ""
        if not rows and not note:
            continue
        if rows and figures in seen:
            continue
        seen.append(figures)
        if not tables and data.overall is not None:
            rows.append(_funnel_row(data, data.overall))
        tables.append(
            ReportTable(
                id=f"funnel-{dimension}",
                title=(
                    f"{t('table_funnel', lang)} — {t('dimension_' + dimension, lang)} "
                    f"({t('percent_base', lang)})"
                ),
                columns=columns,
                rows=rows,
                note=note,
            )
        )
    if not tables and data.overall is not None:
        tables.append(
            ReportTable(
                id="funnel-all",
                title=f"{t('table_funnel', lang)} ({t('percent_base', lang)})",
                columns=columns,
                rows=[_funnel_row(data, data.overall)],
            )
        )
    return tables


def spaces_table(data: ReportData) -> ReportTable:
    lang = data.lang
    return ReportTable(
        id="spaces",
        title=t("table_spaces", lang),
        columns=[
            t("space", lang),
            t("posts_7d", lang),
            t("replies_7d", lang),
            t("posts_28d", lang),
            t("contributors_7d", lang),
        ],
        rows=[
            [
                data.space_label(s),
                str(s.posts_7d),
                str(s.replies_7d),
                str(s.posts_28d),
                str(s.contributors_7d),
            ]
            for s in data.spaces
        ],
    )


def support_survey_table(data: ReportData) -> ReportTable:
    """Support requests and survey means, for everyone and per wave."""
    lang = data.lang
    rows = []
    for row in (data.groups.get("all") or []) + (data.groups.get("wave") or []):
        shown = survey_shown(row)  # fewer answers would tell what one person answered
        means = [getattr(row, f"survey_{q}") if shown else None for q, _, _ in SURVEY_QUESTIONS]
        rows.append(
            [
                data.label(row),
                str(row.tickets_opened),
                str(row.tickets_resolved),
                str(row.survey_responses),
                *["—" if m is None else f"{m:.1f}" for m in means],
            ]
        )
    return ReportTable(
        id="support-survey",
        title=f"{t('table_support', lang)} · {t('chart_survey', lang)}",
        columns=[
            t("group", lang),
            t("tickets_opened", lang),
            t("tickets_resolved", lang),
            t("survey_responses", lang),
            *[fr if lang == "fr" else en for _, fr, en in SURVEY_QUESTIONS],
        ],
        rows=rows,
    )


def all_tables(data: ReportData) -> list[ReportTable]:
    return [*funnel_tables(data), spaces_table(data), support_survey_table(data)]
