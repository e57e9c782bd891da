"""Everything a report shows, read once from the snapshots: tables, charts and posts share it.

Privacy (works councils, the GDPR's proportionality): figures per manager are read only when
the ``ReportManagerFigures`` setting enables them, and no group of people sorted by an HR
attribute (department, site, manager) is shown with fewer than ``MIN_GROUP_SIZE`` people; the
report says how many groups it left out. Cohorts and waves, the launch's own plan, are shown
whatever their size, but no group's survey means below ``MIN_GROUP_SIZE`` answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.cohorts.models import Wave
from plugin.errors import EnvolError
from plugin.metrics.measures import DIMENSIONS
from plugin.metrics.models import GroupSnapshot, MetricsSnapshot, SpaceSnapshot
from plugin.metrics.service import (
    group_history,
    group_rows,
    latest_snapshot,
    manager_names,
    space_rows,
)
from plugin.reports.texts import Lang, t

# The smallest group whose figures a report, a chart or a CSV file may show.
MIN_GROUP_SIZE = 5
# Dimensions that sort people by what HR knows of them: small groups there point at people.
PRIVATE_DIMENSIONS = ("department", "site", "manager")

# Mattermost's default channels, named in the report's language (the server stores its own
# English display names, whatever the team's language).
_DEFAULT_CHANNELS = {
    "town square": "town_square",
    "town-square": "town_square",
    "place du village": "town_square",
    "off-topic": "off_topic",
    "off topic": "off_topic",
    "hors sujet": "off_topic",
}


def survey_shown(row: GroupSnapshot) -> bool:
    """A group's survey means are shown from ``MIN_GROUP_SIZE`` answers: fewer would tell
    what one person answered."""
    return row.survey_responses >= MIN_GROUP_SIZE


def allowed_dimensions(manager_figures: bool) -> tuple[str, ...]:
    """The dimensions a report may show: per-manager figures only when the setting says so."""
    return tuple(d for d in DIMENSIONS if manager_figures or d != "manager")


def shown_rows(rows: list[GroupSnapshot]) -> tuple[list[GroupSnapshot], int]:
    """``rows`` without the groups too small to show, and how many were left out."""
    kept = [
        row
        for row in rows
        if row.dimension not in PRIVATE_DIMENSIONS or row.population >= MIN_GROUP_SIZE
    ]
    return kept, len(rows) - len(kept)


@dataclass
class ReportData:
    company: str
    lang: Lang
    snapshot: MetricsSnapshot
    groups: dict[str, list[GroupSnapshot]]
    spaces: list[SpaceSnapshot]
    # Weekly active over time: one series per cohort and one for everyone.
    history: dict[str, list[GroupSnapshot]] = field(default_factory=dict)
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    # The cohort of each wave (both by their snapshot key), for one colour per cohort.
    wave_cohorts: dict[str, str] = field(default_factory=dict)
    # Groups left out for privacy, per dimension.
    hidden: dict[str, int] = field(default_factory=dict)
    manager_figures: bool = False

    @property
    def day(self) -> dt.date:
        return self.snapshot.day

    @property
    def overall(self) -> GroupSnapshot | None:
        rows = self.groups.get("all") or []
        return rows[0] if rows else None

    def label(self, row: GroupSnapshot) -> str:
        """A group's name for people: managers by their current name, others as stored; a
        department or site left blank in the roster is "not given", never "(none)"."""
        if row.dimension == "all":
            return t("everyone", self.lang)
        if row.dimension in ("department", "site") and not row.key.strip():
            return t("not_given", self.lang)
        return self.names.get((row.dimension, row.key)) or row.label or row.key

    def space_label(self, space: SpaceSnapshot) -> str:
        """A channel's name for people; Mattermost's default channels in the report's language."""
        default = _DEFAULT_CHANNELS.get(space.channel_name.strip().lower())
        return t(f"channel_{default}", self.lang) if default else space.channel_name

    def cohort_order(self) -> list[str]:
        """Every cohort's key, in the order of creation: the order of the colours."""
        keys = {row.key for row in self.groups.get("cohort", [])}
        keys |= {key.split(":", 1)[1] for key in self.history if key.startswith("cohort:")}
        return sorted(
            keys, key=lambda key: (not key.isdigit(), int(key) if key.isdigit() else 0, key)
        )


def load_report_data(
    session: Session, *, company: str, lang: Lang, manager_figures: bool = False
) -> ReportData:
    """The latest snapshot and the history needed by the charts; a clear error without any.

    Per-manager rows are read only with ``manager_figures``; small groups are left out."""
    snapshot = latest_snapshot(session)
    if snapshot is None:
        raise EnvolError(
            "No adoption snapshot yet: run `envol metrics snapshot` first "
            "(the worker takes one every day)."
        )
    groups: dict[str, list[GroupSnapshot]] = {}
    hidden: dict[str, int] = {}
    for dimension in allowed_dimensions(manager_figures):
        groups[dimension], left_out = shown_rows(group_rows(session, snapshot, dimension))
        if left_out:
            hidden[dimension] = left_out
    names: dict[tuple[str, str], str] = {}
    managers = manager_names(session, [int(row.key) for row in groups.get("manager", [])])
    for row in groups.get("manager", []):
        names[("manager", row.key)] = managers.get(int(row.key)) or t("former_manager", lang)
    history: dict[str, list[GroupSnapshot]] = {"all": group_history(session, "all")}
    for row in group_history(session, "cohort"):
        history.setdefault(f"cohort:{row.key}", []).append(row)
        names.setdefault(("cohort", row.key), row.label)
    wave_cohorts = {
        str(wave_id): str(cohort_id)
        for wave_id, cohort_id in session.execute(select(Wave.id, Wave.cohort_id))
    }
    return ReportData(
        company=company,
        lang=lang,
        snapshot=snapshot,
        groups=groups,
        spaces=space_rows(session, snapshot),
        history=history,
        names=names,
        wave_cohorts=wave_cohorts,
        hidden=hidden,
        manager_figures=manager_figures,
    )
