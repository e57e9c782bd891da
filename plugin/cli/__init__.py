"""The ``envol`` command. Thin: parse options, call a service, print the result.

One module per command group; ``COMMAND_GROUPS`` is the explicit registry.
"""

from __future__ import annotations

import sys

from plugin.cli.base import EnvolGroup, console, interrupted_word, root, shown

# The explicit registry: command name → (module that registers it, short help for `envol --help`).
# A module is imported only when one of its commands runs, so `envol --help` and
# `envol waves list --help` load click and the settings, not SQLAlchemy, Celery or matplotlib.
# `tests/foundation/test_cli_startup.py` checks every short help here against the command's own.
COMMAND_GROUPS: dict[str, tuple[str, str]] = {
    "db": ("plugin.cli.db", "Create and migrate Envol's database."),
    "serve": (
        "plugin.cli.server",
        "Serve the webhooks Mattermost calls (slash commands, buttons, dialogs, /join).",
    ),
    "worker": (
        "plugin.cli.server",
        "Run a Celery worker that sends invitations, messages and campaign steps.",
    ),
    "tasks": ("plugin.cli.server", "Check the task queue."),
    "plugin": (
        "plugin.cli.plugin_bundle",
        "The Mattermost plugin that holds Envol's settings page.",
    ),
    "demo": (
        "plugin.cli.demo",
        "Walk a whole launch on the local Mattermost sandbox, or rehearse it on a staging one.",
    ),
    "sandbox": (
        "plugin.cli.sandbox",
        "Serve a local Mattermost stand-in (API v4 subset) until Ctrl-C.",
    ),
    "roster": ("plugin.cli.people", "Import the roster exported by HR."),
    "people": ("plugin.cli.people", "People in the roster."),
    "cohorts": (
        "plugin.cli.people",
        "The pilot, the managers-and-champions cohort, the waves' cohorts.",
    ),
    "waves": ("plugin.cli.people", "Waves: list, show, gate, launch."),
    "waitlist": ("plugin.cli.people", "Requests to join made on the /join page."),
    "campaign": (
        "plugin.cli.campaign",
        "The launch communication plan: teasers, the CEO's announcement, events, launch day.",
    ),
    "commands": ("plugin.cli.support", "Envol's slash commands on Mattermost."),
    "survey": ("plugin.cli.support", "Polls and the launch survey."),
    "support": ("plugin.cli.support", "The support space: requests and FAQ."),
    "seed": (
        "plugin.cli.seed",
        "Seed Mattermost with the launch content: spaces, guides, first discussions.",
    ),
    "brand": (
        "plugin.cli.brand",
        "The platform's look: site name, brand text and image, team, colour theme.",
    ),
    "metrics": (
        "plugin.cli.report",
        "Adoption measures: the daily snapshot (gates: `envol waves gate NAME`).",
    ),
    "report": (
        "plugin.cli.report",
        "The adoption report of the latest snapshot: tables here, and HTML, CSV or a post.",
    ),
    "invitations": ("plugin.cli.invitations", "Follow and repair the invitations of the waves."),
    "onboarding": ("plugin.cli.invitations", "Welcome newcomers and follow their profiles."),
    "preflight": (
        "plugin.cli.preflight",
        "Check the Mattermost server (ENVOL_MATTERMOST_URL/TOKEN) before a launch.",
    ),
    "console": (
        "plugin.cli.launch_console",
        "The launch console (<ENVOL_PUBLIC_URL>/console/): sign-in links, committee posts.",
    ),
}

root.lazy.update(COMMAND_GROUPS)


def main() -> None:
    """Entry point of the ``envol`` console script."""
    try:
        root.main(prog_name="envol", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        console.print(f"[yellow]{shown(interrupted_word())}[/]")
        sys.exit(130)


__all__ = ["EnvolGroup", "main", "root"]
