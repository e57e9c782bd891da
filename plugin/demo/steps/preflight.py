"""Demo step: preflight on a fresh server (Team Edition, 50 people per team), the fixes an admin
makes, preflight again, and from then on Envol acts as its bot.

On a staging server (``envol demo --mattermost-url``) the same fixes are made through the API,
and the scene's record keeps each setting's previous value for ``envol demo --clean``.
"""

from __future__ import annotations

from plugin.demo.run import DemoRun
from plugin.demo.scene import scene_of
from plugin.mattermost import MattermostClient
from plugin.preflight.service import PreflightContext, run_preflight
from plugin.preflight.views import preflight_table


def step_preflight(run: DemoRun) -> None:
    with scene_of(run) as scene:
        deploy = run.context.settings.model_copy(update={"mattermost_url": scene.url})
        pilot = max(1, run.people // 10)
        cohorts = (pilot, run.people - pilot) if run.people > pilot else (pilot,)
        with MattermostClient(scene.url, scene.admin_token) as client:
            ctx = PreflightContext(client=client, deploy=deploy, cohort_sizes=cohorts)
            report = run_preflight(ctx)
            run.console.print(preflight_table(report, scene.url))
            for check in report.blockers:
                run.console.print(f"  [red]blocks:[/] {check.name}: {check.action}")
            # What an admin (or Envol with an admin token) changes before the launch.
            scene.raise_team_size(max(100, 2 * sum(cohorts)))
            scene.configure(
                {
                    "ServiceSettings": {
                        "EnableBotAccountCreation": True,
                        "EnableUserAccessTokens": True,
                        "EnableCommands": True,  # /envol and /aide (on by default)
                    }
                }
            )
            scene.allow_callbacks_to(deploy.public_url)
            bot = scene.bot(ctx.settings.bot_username, "Envol")
            again = run_preflight(
                PreflightContext(client=client, deploy=deploy, cohort_sizes=cohorts)
            )
        verdict = "[red]still blocked[/]" if again.blocked else "[green]nothing blocks[/]"
        run.console.print(f"after the config changes and the bot: {verdict}")
        run.state["preflight_blocked"] = again.blocked
        if run.stage is not None:
            # As the README asks: the bot gets the system admin role and a token for Envol.
            scene.make_system_admin(bot["user_id"])
            run.context = run.stage.use_token(scene.token(bot["user_id"]))
            run.console.print(f"Envol now acts as @{ctx.settings.bot_username} (system admin bot)")
