"""The ``envol`` command. Thin: parse options, call a service, print the result.

One module per command group; ``COMMAND_GROUPS`` is the explicit registry.
"""

from __future__ import annotations

import sys

from plugin.cli.base import EnvolGroup, console, root


def _register() -> None:
    from plugin.cli import db, demo, plugin_bundle, server

    for module in (db, server, plugin_bundle, demo):
        module.register(root)


_register()


def main() -> None:
    """Entry point of the ``envol`` console script."""
    try:
        root.main(prog_name="envol", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        console.print("[yellow]interrupted[/]")
        sys.exit(130)


__all__ = ["EnvolGroup", "main", "root"]
