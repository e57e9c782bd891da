"""The preflight table (the CLI and the demo share it), in its reader's language."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from plugin.errors import localize
from plugin.i18n import load_catalogue
from plugin.preflight.service import CATALOGUE, PreflightReport

_COLOUR = {"ok": "green", "warn": "yellow", "block": "bold red"}


def preflight_table(report: PreflightReport, url: str, language: str = "en") -> Table:
    """One row per check: what was found, and what Envol will do or the admin should."""
    words = load_catalogue(CATALOGUE)

    def word(key: str, **values: object) -> str:
        return escape(words.render(key, language, **values))

    table = Table(title=word("table.title", url=url), show_lines=False)
    for column in ("check", "status", "found", "action"):
        table.add_column(word(f"column.{column}"))
    for check in report.checks:
        table.add_row(
            # Escaped: a finding quotes the server (roles, URLs), never read as Rich markup.
            escape(localize(check.name, language)),
            f"[{_COLOUR[check.status]}]{word(f'status.{check.status}')}[/]",
            escape(localize(check.found, language)),
            escape(localize(check.action, language)),
        )
    return table
