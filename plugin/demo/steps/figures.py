"""Demo step: the same figures, three ways, on one day.

`envol waves list`, `envol invitations status` and the adoption report count the people of each
wave from different tables (the hand-offs, the invitations, the metrics snapshot). On the same
day they must say the same: this step prints them side by side, flags any disagreement, and
writes them to ``<workdir>/figures.json`` for the tests.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from rich.table import Table

from plugin import clock
from plugin.cohorts.service import list_waves
from plugin.metrics.service import group_rows, latest_snapshot
from plugin.onboarding.funnel import funnel

if TYPE_CHECKING:
    from plugin.demo.run import DemoRun

FIGURES_FILE = "figures.json"


@dataclass(frozen=True)
class WaveFigures:
    """One wave's invited and joined people, as each of the three views counts them."""

    wave: str
    waves_list_invited: int  # handed over to the invitation engine
    status_invited: int  # invitations sent
    report_invited: int | None  # the snapshot's wave row (None: no row)
    waves_list_joined: int
    status_joined: int
    report_joined: int | None

    @property
    def agree(self) -> bool:
        invited = {self.waves_list_invited, self.status_invited, self.report_invited}
        joined = {self.waves_list_joined, self.status_joined, self.report_joined}
        return len(invited) == 1 and len(joined) == 1


def collect_figures(run: DemoRun) -> tuple[str, str | None, list[WaveFigures]]:
    """(today, the report's day, each opened wave's figures)."""
    runtime = run.context.runtime.current
    with run.context.sessions() as session:
        snapshot = latest_snapshot(session)
        rows = group_rows(session, snapshot, "wave") if snapshot is not None else []
        report = {row.label: row for row in rows}
        figures = []
        for summary in list_waves(session):
            if not summary.handed_off:
                continue
            name = summary.wave.name
            status = funnel(session, runtime, name)
            row = report.get(name)
            figures.append(
                WaveFigures(
                    wave=name,
                    waves_list_invited=summary.handed_off,
                    status_invited=status.sent,
                    report_invited=None if row is None else row.invited,
                    waves_list_joined=summary.joined,
                    status_joined=status.joined,
                    report_joined=None if row is None else row.joined,
                )
            )
    report_day = snapshot.day.isoformat() if snapshot is not None else None
    return clock.now().date().isoformat(), report_day, figures


def step_figures(run: DemoRun) -> None:
    today, report_day, figures = collect_figures(run)
    table = Table(
        title=f"the same figures, three ways — {today} (report of {report_day})",
        title_justify="left",
    )
    for column in ("wave", "invited: waves list / status / report",
                   "joined: waves list / status / report", ""):  # fmt: skip
        table.add_column(column, justify="left" if column == "wave" else "right")
    for wave in figures:
        table.add_row(
            wave.wave,
            f"{wave.waves_list_invited} / {wave.status_invited} / {wave.report_invited}",
            f"{wave.waves_list_joined} / {wave.status_joined} / {wave.report_joined}",
            "[green]agree[/]" if wave.agree else "[red]differ[/]",
        )
    run.console.print(table)
    agree = today == report_day and all(wave.agree for wave in figures)
    run.console.print(
        "[green]every figure agrees on the same day[/]"
        if agree
        else "[red]the three views disagree[/] (see the table above)"
    )
    coverage = run.state.get("coverage")
    (run.workdir / FIGURES_FILE).write_text(
        json.dumps(
            {"today": today, "report_day": report_day, "agree": agree,
             "waves": [asdict(wave) for wave in figures],
             "coverage": coverage.as_json() if coverage is not None else None},
            indent=1,
        ) + "\n"
    )  # fmt: skip
