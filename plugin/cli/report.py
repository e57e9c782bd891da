"""``envol metrics snapshot`` and ``envol report [--html FILE] [--csv DIR] [--post]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from plugin.cli.base import console, context, shown
from plugin.db import transaction

if TYPE_CHECKING:
    from plugin.mattermost import MattermostClient
    from plugin.reports.texts import Lang


def _client() -> MattermostClient:
    from plugin.mattermost import MattermostClient

    return MattermostClient.from_settings(context().settings)


@click.group("metrics")
def metrics_group() -> None:
    """Adoption measures: the daily snapshot (gates: `envol waves gate NAME`)."""


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
    from plugin.reports.weekly import post_weekly_report

    ctx = context()
    settings = ctx.runtime.current
    language = cast("Lang", lang or settings.default_language)
    with transaction(ctx.sessions) as session:
        data = load_report_data(session, company=settings.company_name, lang=language)
        print_tables(console, all_tables(data))
        if html_path is not None:
            with console.status("drawing the charts…"):
                write_html(data, settings, html_path)
            console.print(f"HTML report: {shown(html_path.resolve())}")
        if csv_dir is not None:
            written = export_csv(session, csv_dir)
            console.print(
                "CSV: "
                + ", ".join(
                    f"{shown(csv_dir / name)} ({rows} rows)" for name, rows in written.items()
                )
            )
    if post:
        with _client() as mm:
            delivery = post_weekly_report(ctx.sessions, mm, settings, clock.now())
        week = delivery.week
        if delivery.already_posted:
            console.print(
                f"the report of {week} was already posted (post {shown(delivery.post_id)})"
            )
        else:
            console.print(f"posted the report of {week} in ~{shown(settings.committee_channel)}")


def register(root: click.Group) -> None:
    root.add_command(metrics_group)
    root.add_command(report)
