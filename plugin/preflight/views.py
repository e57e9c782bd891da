"""The preflight table (the CLI and the demo share it)."""

from __future__ import annotations

from rich.table import Table

from plugin.preflight.service import PreflightReport

_STYLE = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "block": "[bold red]block[/]"}


def preflight_table(report: PreflightReport, url: str) -> Table:
    """One row per check: what was found, and what Envol will do or the admin should."""
    table = Table(title=f"Preflight — {url}", show_lines=False)
    table.add_column("check")
    table.add_column("status")
    table.add_column("found")
    table.add_column("Envol will / you should")
    for check in report.checks:
        table.add_row(check.name, _STYLE[check.status], check.found, check.action)
    return table
