"""``envol report --html FILE``: one self-contained page (styles and charts inline, no network)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from plugin.metrics.measures import percent
from plugin.reports.actions import things_to_act_on
from plugin.reports.charts import CHARTS, chart_svg
from plugin.reports.data import ReportData
from plugin.reports.tables import all_tables
from plugin.reports.texts import pct, t
from plugin.settings import RuntimeSettings

_environment = Environment(
    loader=PackageLoader("plugin.reports", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)


def render_html(data: ReportData, settings: RuntimeSettings) -> str:
    lang = data.lang
    overall = data.overall
    tiles = []
    if overall is not None:
        tiles = [
            {"value": str(overall.joined), "what": "inscrits" if lang == "fr" else "joined"},
            {
                "value": pct(percent(overall.joined, overall.invited)),
                "what": "des invités ont rejoint" if lang == "fr" else "of invited joined",
            },
            {
                "value": pct(percent(overall.active_7d, overall.joined)),
                "what": "actifs sur 7 jours" if lang == "fr" else "active over 7 days",
            },
            {
                "value": pct(percent(overall.profile_complete, overall.joined)),
                "what": "profils complets" if lang == "fr" else "complete profiles",
            },
            {
                "value": pct(percent(overall.contributed_7d, overall.joined)),
                "what": "contributeurs sur 7 jours" if lang == "fr" else "contributors, 7 days",
            },
        ]
    return _environment.get_template("report.html").render(
        lang=lang,
        title=t("title", lang, company=data.company),
        subtitle=t("snapshot_of", lang, day=data.day.isoformat()),
        overall=overall,
        tiles=tiles,
        actions_title=t("things_to_act_on", lang),
        actions=[a.text for a in things_to_act_on(data, settings)],
        nothing_to_act_on=t("nothing_to_act_on", lang),
        charts=[{"id": chart_id, "svg": chart_svg(chart_id, data)} for chart_id, _ in CHARTS],
        tables=all_tables(data),
    )


def write_html(data: ReportData, settings: RuntimeSettings, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(data, settings), encoding="utf-8")
    return target
