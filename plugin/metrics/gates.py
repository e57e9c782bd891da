"""The wave gates' measures, read from the daily snapshots, with their trend.

``MetricsGateMeasures`` implements ``plugin.cohorts.gates.GateMeasures``: each wave's latest
snapshot gives its activation rate, weekly active rate and profile completeness; the survey
score is the surveys capability's ``survey_score_for_wave``, read live.
A wave never snapshotted falls back to what the roster knows (``RosterGateMeasures``).

The trend of a criterion is its change since the snapshot closest to a week earlier, so the
committee sees whether a failing wave is catching up or slipping.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.cohorts.gates import (
    CRITERIA,
    GateResult,
    RosterGateMeasures,
    WaveMeasures,
    evaluate_gate,
    previous_waves,
)
from plugin.cohorts.models import Wave
from plugin.metrics.measures import SURVEY_QUESTIONS, percent
from plugin.metrics.models import GroupSnapshot
from plugin.settings import RuntimeSettings
from plugin.surveys.service import survey_score_for_wave

TREND_WINDOW = dt.timedelta(days=7)
_SURVEY_COLUMNS = tuple(f"survey_{q}" for q, _, _ in SURVEY_QUESTIONS)


def measures_of(row: GroupSnapshot) -> WaveMeasures:
    """The gate's four criteria for one group's snapshot row."""
    means = [getattr(row, column) for column in _SURVEY_COLUMNS]
    known = [float(m) for m in means if m is not None]
    return WaveMeasures(
        activation_rate=percent(row.joined, row.invited),
        weekly_active_rate=percent(row.active_7d, row.joined),
        profile_complete_rate=percent(row.profile_complete, row.joined),
        survey_score=sum(known) / len(known) if known and row.survey_responses else None,
    )


@dataclass(frozen=True)
class Trend:
    """A criterion now and about a week earlier; ``delta`` in the criterion's unit."""

    now: float | None
    before: float | None
    before_day: dt.date | None

    @property
    def delta(self) -> float | None:
        if self.now is None or self.before is None:
            return None
        return self.now - self.before

    def describe(self, unit: str) -> str:
        delta = self.delta
        if delta is None or self.before_day is None:
            return "—"
        arrow = "↗" if delta > 0.05 else "↘" if delta < -0.05 else "→"
        points = " pts" if unit == "%" else ""
        return f"{arrow} {delta:+.1f}{points} since {self.before_day.isoformat()}"


@dataclass(frozen=True)
class MeasuredWave(WaveMeasures):
    """``WaveMeasures`` plus where they come from and how they moved (for explanations)."""

    day: dt.date | None = None
    trends: dict[str, Trend] = field(default_factory=dict)


def _wave_rows(session: Session, wave_id: int) -> list[GroupSnapshot]:
    return list(
        session.scalars(
            select(GroupSnapshot)
            .where(GroupSnapshot.dimension == "wave", GroupSnapshot.key == str(wave_id))
            .order_by(GroupSnapshot.day)
        )
    )


def trends_from_history(rows: list[GroupSnapshot]) -> dict[str, Trend]:
    """Each criterion's trend: the latest row against the last one at least a week older (or
    the oldest row, when the history is shorter than a week)."""
    if not rows:
        return {}
    latest = rows[-1]
    earlier = [r for r in rows[:-1] if r.day <= latest.day - TREND_WINDOW] or rows[:1]
    before = earlier[-1] if earlier[-1] is not latest else None
    now_measures = measures_of(latest)
    before_measures = measures_of(before) if before is not None else WaveMeasures()
    return {
        c.key: Trend(
            now=getattr(now_measures, c.key),
            before=getattr(before_measures, c.key),
            before_day=before.day if before is not None else None,
        )
        for c in CRITERIA
    }


class MetricsGateMeasures:
    """``GateMeasures`` from the daily snapshots (``plugin.cohorts.gates`` protocol)."""

    def measure_wave(self, session: Session, wave_id: int) -> WaveMeasures:
        rows = _wave_rows(session, wave_id)
        if not rows:
            return RosterGateMeasures().measure_wave(session, wave_id)
        base = measures_of(rows[-1])
        return MeasuredWave(
            activation_rate=base.activation_rate,
            weekly_active_rate=base.weekly_active_rate,
            profile_complete_rate=base.profile_complete_rate,
            # The surveys capability owns the gate's survey figure (every answer for the wave).
            survey_score=survey_score_for_wave(session, wave_id),
            day=rows[-1].day,
            trends=trends_from_history(rows),
        )


@dataclass(frozen=True)
class GateExplanation:
    """A gate's result and, per criterion, the trend of the wave that decides it."""

    result: GateResult
    trends: dict[str, Trend]
    measured_on: dict[str, dt.date | None]


def explain_gate(session: Session, wave: Wave, settings: RuntimeSettings) -> GateExplanation:
    """``evaluate_gate`` with the snapshot measures, plus each deciding wave's trend."""
    measures = MetricsGateMeasures()
    result = evaluate_gate(session, wave, settings, measures)
    by_name = {w.name: w for w in previous_waves(session, wave)}
    trends: dict[str, Trend] = {}
    measured_on: dict[str, dt.date | None] = {}
    for criterion in result.criteria:
        deciding = by_name.get(criterion.worst_wave)
        if deciding is None:
            continue
        measured = measures.measure_wave(session, deciding.id)
        if isinstance(measured, MeasuredWave):
            trend = measured.trends.get(criterion.criterion.key)
            if trend is not None:
                trends[criterion.criterion.key] = trend
            measured_on[criterion.criterion.key] = measured.day
    return GateExplanation(result=result, trends=trends, measured_on=measured_on)
