"""``envol preflight``: what the configured Mattermost server allows, and what Envol will do."""

from __future__ import annotations

import sys

import click

from plugin.cli.base import cli_language, console, context, say, shown
from plugin.errors import localize
from plugin.preflight import PreflightContext, blocker_line, run_preflight
from plugin.preflight.views import preflight_table


@click.command("preflight")
@click.option(
    "--cohort-size",
    "cohort_sizes",
    type=click.IntRange(min=1),
    multiple=True,
    help="Planned size of a cohort; repeat for each cohort (e.g. --cohort-size 150 ...).",
)
@click.option(
    "--wave-size",
    type=click.IntRange(min=1),
    default=None,
    help="Invitations sent at once (defaults to the largest cohort).",
)
def preflight_command(cohort_sizes: tuple[int, ...], wave_size: int | None) -> None:
    """Check the Mattermost server (ENVOL_MATTERMOST_URL/TOKEN) before a launch.

    Exits with status 1 when something blocks the launch, listing what to change.
    """
    from plugin.mattermost import MattermostClient

    settings = context().settings
    with MattermostClient.from_settings(settings, retry_budget_seconds=15) as client:
        ctx = PreflightContext(
            client=client, deploy=settings, cohort_sizes=cohort_sizes, wave_size=wave_size
        )
        report = run_preflight(ctx)
    language = cli_language()
    console.print(preflight_table(report, settings.mattermost_url, language))
    if report.blocked:
        console.print(say("preflight.blocked"))
        for check in report.blockers:
            console.print(f"  • {shown(localize(blocker_line(check), language))}")
        sys.exit(1)
    console.print(say("preflight.clear"))


def register(root: click.Group) -> None:
    root.add_command(preflight_command)
