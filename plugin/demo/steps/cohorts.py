"""Demo step: import the fictional employees, plan the pilot and the waves, and check the plan
against the server's limits, the same ones preflight reads (``plugin/cohorts/limits.py``).

No wave opens here: the launch step opens each one on its planned day, once the campaign's
announcement has gone out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugin.cohorts.gates import evaluate_gate
from plugin.cohorts.limits import limits_from_server
from plugin.cohorts.service import PILOT, apply_plan, build_plan, list_waves, wave_by_name
from plugin.cohorts.views import gate_table, pilot_table, waves_table
from plugin.db import transaction
from plugin.demo.fake_roster import write_roster_csv
from plugin.mattermost import MattermostClient
from plugin.metrics.gates import MetricsGateMeasures
from plugin.people.service import import_roster
from plugin.preflight.service import PreflightContext, run_preflight

if TYPE_CHECKING:
    from plugin.demo.run import DemoRun

GENERAL_WAVES = 3
LIMIT_CHECKS = ("Team size", "User limits")  # the preflight checks on the server's limits


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
            session, settings, percent=settings.pilot_percent, seed=run.seed,
            general_waves=GENERAL_WAVES,
        )  # fmt: skip
        apply_plan(session, plan, actor="demo")
    console.print(pilot_table(plan.pilot, language="en"))
    deploy = context.settings
    with MattermostClient.from_settings(deploy) as client:
        limits = limits_from_server(client)
        with transaction(context.sessions) as session:
            pilot = wave_by_name(session, PILOT)
            console.print(
                gate_table(
                    evaluate_gate(session, pilot, settings, MetricsGateMeasures()), language="en"
                )
            )
            summaries = list_waves(session, limits)
        # Preflight again, on the plan's own wave sizes: its verdict and the warnings of
        # `waves list` read the same limits, so they must agree.
        sizes = tuple(summary.members for summary in summaries if summary.members)
        verdict = run_preflight(PreflightContext(client=client, deploy=deploy, cohort_sizes=sizes))
    console.print(waves_table(summaries, language="en"))
    warnings = [(s.wave.name, w) for s in summaries for w in s.warnings]
    for name, warning in warnings:
        console.print(f"[yellow]warning ({name}):[/] {warning}")
    blocked = [check.name for check in verdict.blockers if check.name in LIMIT_CHECKS]
    console.print(
        f"server limits: {limits.max_users_per_team or 'no'} people per team, user cap "
        f"{limits.user_cap or 'none'}; `waves list`: {len(warnings)} warning(s); preflight's "
        f"limits on these waves: {'blocked by ' + ', '.join(blocked) if blocked else 'pass'}"
    )
    run.state["waves"] = [summary.wave.name for summary in summaries]
    run.state["first_wave_at"] = min(
        (s.wave.planned_at for s in summaries if s.wave.planned_at is not None), default=None
    )
    run.state["limits_agree"] = bool(warnings) == bool(blocked)
    run.state["roster_csv"] = roster
