"""Demo step: import 1,500 fictional employees, plan the pilot and the waves (wave 0 opens in
the launch step, once the campaign has sent the CEO's announcement)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugin.cohorts.gates import evaluate_gate
from plugin.cohorts.guards import check_wave_can_open
from plugin.cohorts.service import (
    MANAGERS_CHAMPIONS,
    PILOT,
    ServerLimits,
    apply_plan,
    build_plan,
    list_waves,
    wave_by_name,
)
from plugin.cohorts.views import gate_table, pilot_table, waves_table
from plugin.db import transaction
from plugin.demo.fake_roster import write_roster_csv
from plugin.metrics.gates import MetricsGateMeasures
from plugin.people.service import import_roster

if TYPE_CHECKING:
    from plugin.demo.run import DemoRun

# A fresh server's MaxUsersPerTeam, and the unlicensed user cap: the plan is checked against
# them so the demo shows the warnings an admin would get.
DEMO_LIMITS = ServerLimits(max_users_per_team=50, user_cap=250)


def step_people_and_waves(run: DemoRun) -> None:
    context, console = run.context, run.console
    settings = context.runtime.current
    roster = write_roster_csv(run.workdir / "roster.csv", run.people, run.seed)
    with transaction(context.sessions) as session:
        report = import_roster(session, roster, actor="demo")
    console.print(
        f"roster {roster.name}: {report.created} people imported "
        f"({report.encoding}, separator {report.delimiter!r})"
    )
    with transaction(context.sessions) as session:
        plan = build_plan(
            session, settings, percent=settings.pilot_percent, seed=run.seed, general_waves=3
        )
        apply_plan(session, plan, actor="demo")
    console.print(pilot_table(plan.pilot))
    with transaction(context.sessions) as session:
        check = check_wave_can_open(
            session, wave_by_name(session, MANAGERS_CHAMPIONS), settings, None,
            measures=MetricsGateMeasures(),
        )  # fmt: skip
    # The guard rails hold wave 0 back until the CEO's announcement has gone out (the launch
    # step opens it, after the campaign step sent the announcement).
    console.print(f"wave {MANAGERS_CHAMPIONS} cannot open yet:")
    for refusal in check.refusals:
        console.print(f"  • {refusal}")
    with transaction(context.sessions) as session:
        pilot = wave_by_name(session, PILOT)
        console.print(gate_table(evaluate_gate(session, pilot, settings, MetricsGateMeasures())))
        summaries = list_waves(session, DEMO_LIMITS)
    console.print(waves_table(summaries))
    for summary in summaries:
        for warning in summary.warnings:
            console.print(f"[yellow]warning ({summary.wave.name}):[/] {warning}")
    run.state["waves"] = [summary.wave.name for summary in summaries]
    run.state["roster_csv"] = roster
