"""What ``apply_branding`` did, printed line by line (the CLI and the demo share it)."""

from __future__ import annotations

from rich.console import Console

from plugin.branding.service import BrandReport


def print_brand_report(out: Console, report: BrandReport) -> None:
    verb = "would set" if report.dry_run else "set"
    for step in report.steps:
        if step.action == "set":
            out.print(
                f"[green]~ {verb}[/] {step.what}"
                + (f" [dim]({step.detail})[/]" if step.detail else "")
            )
        elif step.action == "skipped":
            out.print(f"[yellow]- skipped[/] {step.what} [dim]— {step.detail}[/]")
        else:
            out.print(f"[dim]= unchanged {step.what}[/]")
    if report.themes:
        themes = report.themes
        out.print(
            f"theme: {themes.get('set', 0)} member(s) {verb}, {themes.get('update', 0)} "
            f"following a colour change, {themes.get('unchanged', 0)} already themed, "
            f"{themes.get('personal', 0)} kept their own theme."
        )
