"""Everything a report shows, read once from the snapshots: tables, charts and posts share it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

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

    @property
    def day(self) -> dt.date:
        return self.snapshot.day

    @property
    def overall(self) -> GroupSnapshot | None:
        rows = self.groups.get("all") or []
        return rows[0] if rows else None

    def label(self, row: GroupSnapshot) -> str:
        """A group's name for people: managers by their current name, others as stored."""
        if row.dimension == "all":
            return t("everyone", self.lang)
        return self.names.get((row.dimension, row.key)) or row.label or row.key


def load_report_data(session: Session, *, company: str, lang: Lang) -> ReportData:
    """The latest snapshot and the history needed by the charts; a clear error without any."""
    snapshot = latest_snapshot(session)
    if snapshot is None:
        raise EnvolError(
            "No adoption snapshot yet: run `envol metrics snapshot` first "
            "(the worker takes one every day)."
        )
    groups = {dimension: group_rows(session, snapshot, dimension) for dimension in DIMENSIONS}
    names: dict[tuple[str, str], str] = {}
    managers = manager_names(session, [int(row.key) for row in groups["manager"]])
    for row in groups["manager"]:
        names[("manager", row.key)] = managers.get(int(row.key)) or t("former_manager", lang)
    history: dict[str, list[GroupSnapshot]] = {"all": group_history(session, "all")}
    for row in group_history(session, "cohort"):
        history.setdefault(f"cohort:{row.key}", []).append(row)
        names.setdefault(("cohort", row.key), row.label)
    return ReportData(
        company=company,
        lang=lang,
        snapshot=snapshot,
        groups=groups,
        spaces=space_rows(session, snapshot),
        history=history,
        names=names,
    )
