"""Demo step: preflight on a fresh server (Team Edition, 50 people per team), the fixes an admin
makes, preflight again, and from then on Envol acts as its bot."""

from __future__ import annotations

from plugin.demo.run import DemoRun
from plugin.mattermost import MattermostClient
from plugin.preflight.service import PreflightContext, run_preflight
from plugin.preflight.views import preflight_table
from plugin.sandbox import Sandbox


def step_preflight(run: DemoRun) -> None:
    shared = run.state.get("sandbox")
    sandbox = (
        shared if isinstance(shared, Sandbox) else Sandbox.start(contract=False, seed=run.seed)
    )
    try:
        deploy = run.context.settings.model_copy(update={"mattermost_url": sandbox.url})
        pilot = max(1, run.people // 10)
        cohorts = (pilot, run.people - pilot) if run.people > pilot else (pilot,)
        with MattermostClient(sandbox.url, sandbox.admin_token) as client:
            ctx = PreflightContext(client=client, deploy=deploy, cohort_sizes=cohorts)
            report = run_preflight(ctx)
            run.console.print(preflight_table(report, sandbox.url))
            for check in report.blockers:
                run.console.print(f"  [red]blocks:[/] {check.name}: {check.action}")
            # What an admin (or Envol with an admin token) changes before the launch.
            client.patch_config(
                {
                    "TeamSettings": {"MaxUsersPerTeam": max(100, 2 * sum(cohorts))},
                    "ServiceSettings": {
                        "EnableBotAccountCreation": True,
                        "EnableUserAccessTokens": True,
                        "AllowedUntrustedInternalConnections": "127.0.0.1",
                    },
                }
            )
            bot = client.create_bot(ctx.settings.bot_username, "Envol")
            again = run_preflight(
                PreflightContext(client=client, deploy=deploy, cohort_sizes=cohorts)
            )
        verdict = "[red]still blocked[/]" if again.blocked else "[green]nothing blocks[/]"
        run.console.print(f"after the config changes and the bot: {verdict}")
        run.state["preflight_blocked"] = again.blocked
        if run.stage is not None:
            # As the README asks: the bot gets the system admin role and a token for Envol.
            sandbox.make_system_admin(bot["user_id"])
            run.context = run.stage.use_token(sandbox.create_token(bot["user_id"]))
            run.console.print(f"Envol now acts as @{ctx.settings.bot_username} (system admin bot)")
    finally:
        if sandbox is not shared:
            sandbox.stop()
