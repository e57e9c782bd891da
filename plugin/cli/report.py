"""``envol metrics snapshot|gate NAME`` and ``envol report [--html FILE] [--csv DIR] [--post]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click
from rich.table import Table

from plugin.cli.base import console, context
from plugin.db import transaction

if TYPE_CHECKING:
    from plugin.mattermost import MattermostClient
    from plugin.reports.texts import Lang


def _client() -> MattermostClient:
    from plugin.mattermost import MattermostClient

    return MattermostClient.from_settings(context().settings)


@click.group("metrics")
def metrics_group() -> None:
    """Adoption measures: the daily snapshot, the gates' figures."""


@metrics_group.command("snapshot")
@click.option(
    "--channel",
    "channel_ids",
    multiple=True,
    metavar="ID",
    help="Also watch this private channel's posts (repeatable); public channels always are.",
)
def snapshot(channel_ids: tuple[str, ...]) -> None:
    """Take today's snapshot (again the same day, it replaces the day's figures)."""
    from plugin.metrics.service import take_snapshot

    ctx = context()
    with (
        console.status("reading Mattermost…") as status,
        _client() as mm,
        transaction(ctx.sessions) as session,
    ):
        taken = take_snapshot(
            session,
            mm,
            ctx.runtime.current,
            extra_channel_ids=channel_ids,
            progress=lambda message: status.update(f"reading {message}…"),
        )
        console.print(
            f"snapshot of {taken.day}: {taken.people} people, {taken.channels} channels, "
            f"{taken.posts_fetched} new posts; {taken.requests} requests to Mattermost "
            f"(fewest possible: {taken.minimum_requests})"
        )


@metrics_group.command("gate")
@click.argument("name")
def gate(name: str) -> None:
    """The gate of wave NAME from the snapshots: value, threshold, pass/fail and trend."""
    from plugin.cohorts.service import wave_by_name
    from plugin.metrics.gates import explain_gate

    ctx = context()
    with transaction(ctx.sessions) as session:
        explanation = explain_gate(session, wave_by_name(session, name), ctx.runtime.current)
    result = explanation.result
    table = Table(
        title=f"Gate of wave {result.wave} "
        f"(waves before it: {', '.join(result.previous_waves) or 'none'})",
        title_justify="left",
    )
    for column in ("criterion", "measured", "threshold", "result", "trend (7 days)", "note"):
        table.add_column(column, justify="right" if column in {"measured", "threshold"} else "left")
    for criterion in result.criteria:
        unit = criterion.criterion.unit
        trend = explanation.trends.get(criterion.criterion.key)
        table.add_row(
            criterion.criterion.label,
            "—" if criterion.measured is None else f"{criterion.measured:.1f}{unit}",
            f"{criterion.threshold:g}{unit}" if criterion.required else "—",
            "[green]pass[/]" if criterion.passed else "[red]FAIL[/]",
            trend.describe(unit) if trend is not None else "—",
            criterion.note + (f" (worst: {criterion.worst_wave})" if criterion.worst_wave else ""),
        )
    console.print(table)
    if result.passed:
        console.print("[green]the gate holds: the wave can open[/]")
    elif result.overridden_reason:
        console.print(f"[yellow]gate overridden[/] ({result.overridden_reason})")
    else:
        console.print("[red]the gate fails: the wave cannot open[/]")


@click.command("report")
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the self-contained HTML report with its charts to this file.",
)
@click.option(
    "--csv",
    "csv_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Export the measures as CSV files into this folder.",
)
@click.option(
    "--post", is_flag=True, help="Post this week's report in the launch-committee channel."
)
@click.option("--lang", type=click.Choice(["fr", "en"]), help="Language (default: the settings').")
def report(html_path: Path | None, csv_dir: Path | None, post: bool, lang: str | None) -> None:
    """The adoption report of the latest snapshot: tables here, and HTML, CSV or a post."""
    from plugin import clock
    from plugin.reports.csv_export import export_csv
    from plugin.reports.data import load_report_data
    from plugin.reports.html import write_html
    from plugin.reports.tables import all_tables, print_tables
    from plugin.reports.weekly import claim_week, deliver, iso_week

    ctx = context()
    settings = ctx.runtime.current
    language = cast("Lang", lang or settings.default_language)
    with transaction(ctx.sessions) as session:
        data = load_report_data(session, company=settings.company_name, lang=language)
        print_tables(console, all_tables(data))
        if html_path is not None:
            with console.status("drawing the charts…"):
                write_html(data, settings, html_path)
            console.print(f"HTML report: {html_path.resolve()}")
        if csv_dir is not None:
            written = export_csv(session, csv_dir)
            console.print(
                "CSV: "
                + ", ".join(f"{csv_dir / name} ({rows} rows)" for name, rows in written.items())
            )
    if post:
        week = iso_week(clock.now())
        with transaction(ctx.sessions) as session:
            claim_week(session, week)
        with _client() as mm, transaction(ctx.sessions) as session:
            delivery = deliver(session, mm, settings, claim_week(session, week, lock=True))
        if delivery.already_posted:
            console.print(f"the report of {week} was already posted (post {delivery.post_id})")
        else:
            console.print(f"posted the report of {week} in ~{settings.committee_channel}")


def register(root: click.Group) -> None:
    root.add_command(metrics_group)
    root.add_command(report)
