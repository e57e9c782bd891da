"""The three things for the launch committee to act on this week.

Each candidate is a group falling short of a gate threshold (or of a sensible floor where the
settings have none), scored by how far it falls short; groups too small to say anything (fewer
than ``MIN_PEOPLE`` joined) are left out. The three worst, at most one per kind, are kept, so the
committee gets three different levers rather than three departments with the same problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugin.metrics.measures import SURVEY_QUESTIONS, percent
from plugin.reports.data import ReportData, survey_shown
from plugin.reports.texts import pct, t
from plugin.settings import RuntimeSettings

MIN_PEOPLE = 3
# Floors for measures the gate settings do not cover.
MANAGER_TEAM_ACTIVE_FLOOR = 50.0


@dataclass(frozen=True)
class Action:
    kind: str
    score: float  # 0 (fine) to 1 (nothing at all)
    text: str


def _shortfall(value: float | None, threshold: float) -> float:
    if value is None or threshold <= 0 or value >= threshold:
        return 0.0
    return (threshold - value) / threshold


def candidate_actions(data: ReportData, settings: RuntimeSettings) -> list[Action]:
    lang = data.lang
    candidates: list[Action] = []

    def add(kind: str, score: float, text_key: str, name: str, value: str) -> None:
        if score > 0:
            candidates.append(Action(kind, score, t(text_key, lang, name=name, value=value)))

    for row in data.groups.get("department", []):
        if row.joined >= MIN_PEOPLE:
            rate = percent(row.profile_complete, row.joined)
            add(
                "profiles",
                _shortfall(rate, settings.gate_profile_complete_rate),
                "act_profiles",
                data.label(row),
                pct(rate),
            )
    for dimension in ("wave", "site"):
        for row in data.groups.get(dimension, []):
            if row.invited >= MIN_PEOPLE:
                rate = percent(row.joined, row.invited)
                add(
                    "activation",
                    _shortfall(rate, settings.gate_activation_rate),
                    "act_activation",
                    data.label(row),
                    pct(rate),
                )
            if row.joined >= MIN_PEOPLE:
                rate = percent(row.active_7d, row.joined)
                add(
                    "weekly_active",
                    _shortfall(rate, settings.gate_weekly_active_rate),
                    "act_weekly_active",
                    data.label(row),
                    pct(rate),
                )
    for row in data.groups.get("manager", []):
        if row.joined >= MIN_PEOPLE:
            rate = percent(row.active_7d, row.joined)
            add(
                "manager_team",
                _shortfall(rate, MANAGER_TEAM_ACTIVE_FLOOR),
                "act_manager_team",
                data.label(row),
                pct(rate),
            )
    overall = data.overall
    if overall is not None:
        waiting = overall.tickets_opened - overall.tickets_resolved
        if waiting > 0:
            # Ten waiting requests is as bad as it gets; fewer weigh proportionally less.
            add("support", min(1.0, waiting / 10), "act_support", "", str(waiting))
        if survey_shown(overall):
            for question, fr, en in SURVEY_QUESTIONS:
                mean = getattr(overall, f"survey_{question}")
                add(
                    "survey",
                    _shortfall(mean, settings.gate_survey_score),
                    "act_survey",
                    fr if lang == "fr" else en,
                    f"{mean:.1f}" if mean is not None else "—",
                )
    for space in data.spaces:
        if space.posts_7d + space.replies_7d == 0:
            # A silent space matters, but less than people who cannot get started.
            add("quiet_space", 0.3, "act_quiet_space", data.space_label(space), "0")
    return candidates


def things_to_act_on(data: ReportData, settings: RuntimeSettings, limit: int = 3) -> list[Action]:
    """The ``limit`` most pressing actions, one per kind, worst first (ties by text)."""
    chosen: list[Action] = []
    kinds: set[str] = set()
    for action in sorted(candidate_actions(data, settings), key=lambda a: (-a.score, a.text)):
        if action.kind in kinds:
            continue
        chosen.append(action)
        kinds.add(action.kind)
        if len(chosen) == limit:
            break
    return chosen
