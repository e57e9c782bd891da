"""Demo step: preflight on a fresh sandbox (Team Edition, 50 people per team), then again
after Envol's adapter has applied the config changes it recommends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugin.mattermost import MattermostClient
from plugin.preflight.service import PreflightContext, run_preflight

if TYPE_CHECKING:
    from plugin.demo.runner import DemoRun


def step_preflight(run: DemoRun) -> None:
    from plugin.cli.preflight import render
    from plugin.sandbox import Sandbox

    sandbox = Sandbox.start(contract=False, seed=run.seed)
    try:
        deploy = run.context.settings.model_copy(
            update={"mattermost_url": sandbox.url, "public_url": "http://127.0.0.1:8080"}
        )
        pilot = max(1, run.people // 10)
        cohorts = (pilot, run.people - pilot) if run.people > pilot else (pilot,)
        with MattermostClient(sandbox.url, sandbox.admin_token) as client:
            ctx = PreflightContext(client=client, deploy=deploy, cohort_sizes=cohorts)
            report = run_preflight(ctx)
            run.console.print(render(report, sandbox.url))
            for check in report.blockers:
                run.console.print(f"  [red]blocks:[/] {check.name}: {check.action}")
            # What an admin (or Envol with an admin token) changes before the launch.
            client.patch_config(
                {
                    "TeamSettings": {"MaxUsersPerTeam": max(100, 2 * sum(cohorts))},
                    "ServiceSettings": {
                        "EnableBotAccountCreation": True,
                        "AllowedUntrustedInternalConnections": "127.0.0.1",
                    },
                }
            )
            client.create_bot(ctx.settings.bot_username, "Envol")
            again = run_preflight(
                PreflightContext(client=client, deploy=deploy, cohort_sizes=cohorts)
            )
        verdict = "[red]still blocked[/]" if again.blocked else "[green]nothing blocks[/]"
        run.console.print(f"after the config changes and the bot: {verdict}")
        run.state["preflight_blocked"] = again.blocked
    finally:
        sandbox.stop()
