"""The report's tables, built once and shown in the terminal (rich) or the HTML page."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from plugin.metrics.measures import DIMENSIONS, FUNNEL_STEPS, SURVEY_QUESTIONS, percent
from plugin.metrics.models import GroupSnapshot
from plugin.reports.data import ReportData
from plugin.reports.texts import pct, t


@dataclass(frozen=True)
class ReportTable:
    id: str
    title: str
    columns: list[str]
    rows: list[list[str]]


def _count_and_rate(count: int, whole: int) -> str:
    rate = percent(count, whole)
    return f"{count} ({pct(rate)})" if rate is not None else str(count)


def _funnel_row(data: ReportData, row: GroupSnapshot) -> list[str]:
    return [
        data.label(row),
        str(row.population),
        str(row.invited),
        _count_and_rate(row.joined, row.invited),
        _count_and_rate(row.profile_complete, row.joined),
        _count_and_rate(row.active_7d, row.joined),
        _count_and_rate(row.contributed_7d, row.joined),
        _count_and_rate(row.contributed_28d, row.joined),
        str(row.posts_7d),
        str(row.replies_7d),
    ]


def funnel_tables(data: ReportData) -> list[ReportTable]:
    """One funnel table per dimension: everyone, cohorts, waves, departments, sites, managers."""
    lang = data.lang
    columns = [
        t("group", lang),
        t("population", lang),
        *[fr if lang == "fr" else en for _, fr, en in FUNNEL_STEPS],
        t("posts_7d", lang),
        t("replies_7d", lang),
    ]
    tables = []
    for dimension in DIMENSIONS:
        rows = data.groups.get(dimension) or []
        if not rows:
            continue
        ordered = sorted(rows, key=lambda r: data.label(r).lower())
        tables.append(
            ReportTable(
                id=f"funnel-{dimension}",
                title=f"{t('table_funnel', lang)} — {t('dimension_' + dimension, lang)}",
                columns=columns,
                rows=[_funnel_row(data, row) for row in ordered],
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
                s.channel_name,
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
        means = [getattr(row, f"survey_{q}") for q, _, _ in SURVEY_QUESTIONS]
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


def print_tables(console: Console, tables: list[ReportTable]) -> None:
    for table in tables:
        shown = Table(title=table.title, title_justify="left")
        for index, column in enumerate(table.columns):
            shown.add_column(column, justify="left" if index == 0 else "right")
        for row in table.rows:
            shown.add_row(*row)
        console.print(shown)
