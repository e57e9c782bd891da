"""Rich tables for the cohort plan, the waves and the gates (the CLI and the demo share them).

Names, departments, sites and descriptions come from the roster and the plan files: escaped,
so a ``[`` in them is printed, never read as Rich markup.

Every table is worded in the reader's language (``language``, from this folder's
``messages.yaml``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal
from rich.markup import escape
from rich.table import Table

from plugin import i18n
from plugin.cohorts.gates import GateResult, criterion_label
from plugin.cohorts.models import CohortKind, Wave
from plugin.cohorts.pilot import PilotSelection, Stratum
from plugin.cohorts.service import CohortPlan, WavePlan, WaveSummary


def _why(stratum: Stratum, language: str) -> str:
    """Who is in the pilot from this stratum and why: the must-includes by reason, the draw."""
    parts = [
        _say(f"pilot.why.{reason}", language, n=count)
        for reason, count in sorted(stratum.included.items())
    ]
    if stratum.drawn:
        parts.append(_say("pilot.why.drawn", language, n=stratum.drawn))
    text = ", ".join(parts) or _say("pilot.why.none", language)
    share = format_decimal(stratum.fair_share, format="0.0", locale=language)
    return f"{text} {_say('pilot.fair_share', language, share=share)}"


def pilot_table(selection: PilotSelection, *, language: str) -> Table:
    """The pilot's draw, stratum by stratum, in ``language``."""
    title = _say(
        "pilot.title",
        language,
        selected=len(selection.selected_ids),
        population=selection.population,
        target=selection.target,
        percent=_amount(selection.percent, "%", language, pattern="0.##"),
        seed=selection.seed,
    )
    table = Table(title=escape(title), title_justify="left")
    for column in ("department", "site", "population", "selected", "why"):
        table.add_column(
            _say(f"pilot.column.{column}", language),
            justify="right" if column in {"population", "selected"} else "left",
        )
    for stratum in sorted(selection.strata, key=lambda s: (s.department, s.site)):
        table.add_row(
            escape(stratum.department or "—"),
            escape(stratum.site or "—"),
            str(stratum.population),
            str(stratum.selected),
            escape(_why(stratum, language)),
        )
    table.add_section()
    table.add_row(
        _say("pilot.departments", language, n=len(selection.departments)),
        _say("pilot.sites", language, n=len(selection.sites)),
        str(selection.population),
        str(len(selection.selected_ids)),
        "",
    )
    return table


def plan_table(plan: CohortPlan, *, language: str) -> Table:
    """The waves the plan would create, in launch order, in ``language``."""
    table = Table(title=_say("plan.title", language), title_justify="left")
    for column in ("position", "wave", "people", "planned", "channels", "what"):
        table.add_column(
            _say(f"plan.column.{column}", language),
            justify="right" if column in {"position", "people"} else "left",
        )
    for wave in plan.waves:
        table.add_row(
            str(wave.position),
            escape(wave.name),
            str(len(wave.person_ids)),
            wave.planned_at.strftime("%Y-%m-%d"),
            escape(", ".join(wave.channels)),
            escape(_what(wave, plan, language)),
        )
    return table


def _what(wave: WavePlan, plan: CohortPlan, language: str) -> str:
    """What a planned wave is for (its stored description stays English, as it was planned)."""
    if wave.kind == CohortKind.MANAGERS_CHAMPIONS:
        return _say("plan.what.managers_champions", language)
    if wave.kind == CohortKind.PILOT:
        percent = _amount(plan.pilot.percent, "%", language, pattern="0.##")
        return _say("plan.what.pilot", language, percent=percent, seed=plan.pilot.seed)
    general = [w for w in plan.waves if w.kind == CohortKind.WAVE]
    number = next((n for n, w in enumerate(general, 1) if w is wave), 0)
    return _say("plan.what.wave", language, number=number, total=len(general))


MESSAGES = Path(__file__).with_name("messages.yaml")

_VERDICT_STYLES = {
    "pass": "green",
    "fail": "red",
    "not_measured": "yellow",
    "not_required": "dim",
    "first_wave": "dim",
}


def _say(key: str, language: str, /, **values: Any) -> str:
    return i18n.load_catalogue(MESSAGES).render(key, language, **values)


def gate_verdict(gate: GateResult | None, *, language: str) -> str:
    """One word for a wave's gate: holds, fails, not measured (a criterion lacks a measure),
    overridden, or "—" when the wave is no longer planned."""
    if gate is None:
        return "—"
    if gate.passed:
        return f"[green]{_say('gate.word.holds', language)}[/]"
    if gate.overridden_reason:
        return f"[yellow]{_say('gate.word.overridden', language)}[/]"
    if any(r.state == "not_measured" for r in gate.criteria):
        return f"[yellow]{_say('gate.word.not_measured', language)}[/]"
    return f"[red]{_say('gate.word.fails', language)}[/]"


def gate_lines(
    summaries: list[WaveSummary], gates: Mapping[int, GateResult], *, language: str
) -> list[str]:
    """One line per planned wave: its gate in a word (below the table, which stays narrow)."""
    return [
        _say("gate.line", language, wave=escape(summary.wave.name))
        + " "
        + gate_verdict(gates[summary.wave.id], language=language)
        for summary in summaries
        if summary.wave.id in gates
    ]


def wave_status(wave: Wave, language: str, *, mark_override: bool = True) -> str:
    """``planned``, ``open``, ``closed`` (and whether its gate was overridden) in ``language``."""
    status = _say(f"wave.status.{wave.status.value}", language)
    if mark_override and wave.gate_overridden_reason:
        status += " " + _say("wave.gate_overridden", language)
    return status


def waves_table(
    summaries: list[WaveSummary],
    gates: Mapping[int, GateResult] | None = None,
    *,
    language: str,
) -> Table:
    """The waves in launch order; ``gates`` (wave id → gate) adds each planned wave's gate."""
    table = Table(title=_say("waves.title", language), title_justify="left")
    columns = ["position", "wave", "status", "planned", "people", "invited", "joined", "team"]
    if gates is not None:
        columns.append("gate")
    for column in columns:
        table.add_column(
            _say(f"waves.column.{column}", language),
            justify="left" if column in {"wave", "status", "planned", "gate"} else "right",
        )
    for summary in summaries:
        wave = summary.wave
        table.add_row(
            str(wave.position),
            escape(wave.name),
            escape(wave_status(wave, language)),
            wave.planned_at.strftime("%Y-%m-%d") if wave.planned_at else "—",
            str(summary.members),
            str(summary.handed_off),
            str(summary.joined),
            str(summary.team_size_after) + (" [yellow]⚠[/]" if summary.warnings else ""),
            *([gate_verdict(gates.get(wave.id), language=language)] if gates is not None else []),
        )
    return table


def _amount(value: float, unit: str, language: str, *, pattern: str = "0.0") -> str:
    """``62.5%`` / ``62,5 %``: French puts a no-break space before ``%``."""
    text = format_decimal(value, format=pattern, locale=language)
    return f"{text}\u00a0%" if unit == "%" and language == "fr" else f"{text}{unit}"


def _trend(trend: Any, unit: str, language: str) -> str:
    """``↗ +4.2 pts since 2027-03-01`` in ``language``; ``trend`` is a
    ``plugin.metrics.gates.Trend`` (its ``describe`` stays English, for logs)."""
    delta = trend.delta
    if delta is None or trend.before_day is None:
        return "—"
    arrow = "↗" if delta > 0.05 else "↘" if delta < -0.05 else "→"
    return _say(
        "gate.trend",
        language,
        arrow=arrow,
        delta=format_decimal(delta, format="+0.0;-0.0", locale=language),
        points=unit == "%",
        day=trend.before_day.isoformat(),
    )


def gate_table(
    gate: GateResult, trends: Mapping[str, Any] | None = None, *, language: str
) -> Table:
    """The gate, one criterion a row, in ``language``; ``trends`` (criterion key → a
    ``plugin.metrics.gates.Trend``) adds the change over the last week of the wave that decides
    it."""
    before = ", ".join(gate.previous_waves) or _say("gate.none", language)
    table = Table(
        title=escape(_say("gate.title", language, wave=gate.wave, before=before)),
        title_justify="left",
    )
    columns = ["criterion", "measured", "threshold", "result"]
    columns += ["trend", "note"] if trends is not None else ["note"]
    for column in columns:
        table.add_column(
            _say(f"gate.column.{column}", language),
            justify="right" if column in {"measured", "threshold"} else "left",
        )
    for result in gate.criteria:
        unit = result.criterion.unit
        measured = "—" if result.measured is None else _amount(result.measured, unit, language)
        threshold = (
            _amount(result.threshold, unit, language, pattern="0.##") if result.required else "—"
        )
        style = _VERDICT_STYLES[result.state]
        verdict = f"[{style}]{escape(_say(f'gate.verdict.{result.state}', language))}[/]"
        note = escape(result.worded_note(language))
        if result.measured is not None:
            note += " " + escape(_say("gate.worst", language, wave=result.worst_wave))
        cells = [criterion_label(result.criterion.key, language), measured, threshold, verdict]
        if trends is not None:
            trend = trends.get(result.criterion.key)
            cells.append(_trend(trend, unit, language) if trend is not None else "—")
        table.add_row(*cells, note)
    return table
