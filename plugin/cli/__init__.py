"""The ``envol`` command. Thin: parse options, call a service, print the result.

One module per command group; ``COMMAND_GROUPS`` is the explicit registry.
"""

from __future__ import annotations

import sys

from plugin.cli.base import EnvolGroup, console, root


def _register() -> None:
    from plugin.cli import db, demo, plugin_bundle, server
    from plugin.cli import sandbox as sandbox_cli

    for module in (db, server, plugin_bundle, demo, sandbox_cli):
        module.register(root)
    from plugin.cli import people  # roster, people, cohorts, waves, waitlist

    people.register(root)
    from plugin.cli import campaign  # the launch communication plan

    campaign.register(root)
    from plugin.cli import support  # slash commands, polls and survey, support requests

    support.register(root)
    from plugin.cli import brand, seed  # declarative seeding and branding

    seed.register(root)
    brand.register(root)
    from plugin.cli import report  # metrics snapshot and gate, adoption reports

    report.register(root)
    from plugin.cli import invitations  # invitations funnel, retries, onboarding cycle

    invitations.register(root)
    from plugin.cli import preflight  # envol preflight: what the server allows

    preflight.register(root)
    from plugin.cli import launch_console  # the launch console: sign-in links, committee posts

    launch_console.register(root)


_register()


def main() -> None:
    """Entry point of the ``envol`` console script."""
    try:
        root.main(prog_name="envol", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        console.print("[yellow]interrupted[/]")
        sys.exit(130)


__all__ = ["EnvolGroup", "main", "root"]
