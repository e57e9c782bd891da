"""What ``apply_branding`` did, printed line by line in the reader's language (the CLI and the
demo share it; the words are in ``messages.yaml`` next to this module)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from plugin import i18n
from plugin.branding.service import BrandReport

MESSAGES = Path(__file__).with_name("messages.yaml")


def _say(key: str, language: str, /, **values: Any) -> str:
    return escape(i18n.load_catalogue(MESSAGES).render(key, language, **values))


def print_brand_report(out: Console, report: BrandReport, *, language: str) -> None:
    for step in report.steps:
        what = _say(f"subject.{step.what}", language)
        if step.action == "set":
            out.print(
                f"[green]~ {_say('set', language, dry_run=report.dry_run)}[/] {what}"
                + (f" [dim]({escape(step.detail)})[/]" if step.detail else "")
            )
        elif step.action == "skipped":
            why = _say("team_missing", language, team=step.detail)
            out.print(f"[yellow]- {_say('skipped', language)}[/] {what} [dim]— {why}[/]")
        else:
            out.print(f"[dim]= {_say('unchanged', language)} {what}[/]")
    if report.themes:
        themes = report.themes
        out.print(
            _say(
                "themes",
                language,
                dry_run=report.dry_run,
                set=themes.get("set", 0),
                update=themes.get("update", 0),
                unchanged=themes.get("unchanged", 0),
                personal=themes.get("personal", 0),
            )
        )
