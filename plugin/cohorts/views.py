"""Rich tables for the cohort plan, the waves and the gates (the CLI and the demo share them).

Names, departments, sites and descriptions come from the roster and the plan files: escaped,
so a ``[`` in them is printed, never read as Rich markup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.markup import escape
from rich.table import Table

from plugin.cohorts.gates import GateResult
from plugin.cohorts.pilot import PilotSelection
from plugin.cohorts.service import CohortPlan, WaveSummary


def pilot_table(selection: PilotSelection) -> Table:
    table = Table(
        title=f"Pilot: {len(selection.selected_ids)} of {selection.population} people "
        f"(target {selection.target} = {selection.percent:g}%, seed {selection.seed})",
        title_justify="left",
    )
    table.add_column("department")
    table.add_column("site")
    table.add_column("population", justify="right")
    table.add_column("selected", justify="right")
    table.add_column("why")
    for stratum in sorted(selection.strata, key=lambda s: (s.department, s.site)):
        table.add_row(
            escape(stratum.department or "—"),
            escape(stratum.site or "—"),
            str(stratum.population),
            str(stratum.selected),
            escape(stratum.why),
        )
    table.add_section()
    table.add_row(
        f"{len(selection.departments)} departments",
        f"{len(selection.sites)} sites",
        str(selection.population),
        str(len(selection.selected_ids)),
        "",
    )
    return table


def plan_table(plan: CohortPlan) -> Table:
    table = Table(title="Waves planned", title_justify="left")
    for column in ("#", "wave", "people", "planned", "channels", "what"):
        table.add_column(column, justify="right" if column in {"#", "people"} else "left")
    for wave in plan.waves:
        table.add_row(
            str(wave.position),
            escape(wave.name),
            str(len(wave.person_ids)),
            wave.planned_at.strftime("%Y-%m-%d"),
            escape(", ".join(wave.channels)),
            escape(wave.description),
        )
    return table


_VERDICTS = {
    "pass": "[green]pass[/]",
    "fail": "[red]FAIL[/]",
    "not_measured": "[yellow]not measured[/]",
    "not_required": "[dim]not required[/]",
    "first_wave": "[dim]first wave[/]",
}


def gate_verdict(gate: GateResult | None) -> str:
    """One word for a wave's gate: holds, fails, not measured (a criterion lacks a measure),
    overridden, or "—" when the wave is no longer planned."""
    if gate is None:
        return "—"
    if gate.passed:
        return "[green]holds[/]"
    if gate.overridden_reason:
        return "[yellow]overridden[/]"
    if any(r.state == "not_measured" for r in gate.criteria):
        return "[yellow]not measured[/]"
    return "[red]fails[/]"


def gate_lines(summaries: list[WaveSummary], gates: Mapping[int, GateResult]) -> list[str]:
    """One line per planned wave: its gate in a word (below the table, which stays narrow)."""
    return [
        f"gate of {summary.wave.name}: {gate_verdict(gates[summary.wave.id])}"
        for summary in summaries
        if summary.wave.id in gates
    ]


def waves_table(
    summaries: list[WaveSummary], gates: Mapping[int, GateResult] | None = None
) -> Table:
    """The waves in launch order; ``gates`` (wave id → gate) adds each planned wave's gate."""
    table = Table(title="Waves", title_justify="left")
    columns = ["#", "wave", "status", "planned", "people", "invited", "joined", "team after"]
    if gates is not None:
        columns.append("gate")
    for column in columns:
        table.add_column(
            column, justify="left" if column in {"wave", "status", "planned", "gate"} else "right"
        )
    for summary in summaries:
        wave = summary.wave
        status = wave.status.value + (" (gate overridden)" if wave.gate_overridden_reason else "")
        table.add_row(
            str(wave.position),
            escape(wave.name),
            status,
            wave.planned_at.strftime("%Y-%m-%d") if wave.planned_at else "—",
            str(summary.members),
            str(summary.handed_off),
            str(summary.joined),
            str(summary.team_size_after) + (" [yellow]⚠[/]" if summary.warnings else ""),
            *([gate_verdict(gates.get(wave.id))] if gates is not None else []),
        )
    return table


def gate_table(gate: GateResult, trends: Mapping[str, Any] | None = None) -> Table:
    """The gate, one criterion a row; ``trends`` (criterion key → an object with
    ``describe(unit)``) adds the change over the last week of the wave that decides it."""
    before = escape(", ".join(gate.previous_waves) or "none")
    table = Table(
        title=f"Gate of wave {escape(str(gate.wave))} (waves before it: {before})",
        title_justify="left",
    )
    columns = ["criterion", "measured", "threshold", "result"]
    columns += ["trend (7 days)", "note"] if trends is not None else ["note"]
    for column in columns:
        table.add_column(column, justify="right" if column in {"measured", "threshold"} else "left")
    for result in gate.criteria:
        unit = result.criterion.unit
        measured = "—" if result.measured is None else f"{result.measured:.1f}{unit}"
        threshold = f"{result.threshold:g}{unit}" if result.required else "—"
        verdict = _VERDICTS[result.state]
        note = escape(result.note) + (
            f" (worst: {escape(str(result.worst_wave))})" if result.measured is not None else ""
        )
        cells = [result.criterion.label, measured, threshold, verdict]
        if trends is not None:
            trend = trends.get(result.criterion.key)
            cells.append(trend.describe(unit) if trend is not None else "—")
        table.add_row(*cells, note)
    return table
