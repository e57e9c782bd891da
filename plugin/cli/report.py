"""``envol metrics snapshot`` and ``envol report [--html FILE] [--csv DIR] [--post]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click
from rich.table import Table

from plugin.cli.base import cli_language, console, context, print_table, say
from plugin.db import transaction

if TYPE_CHECKING:
    from plugin.mattermost import MattermostClient
    from plugin.reports.tables import ReportTable
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
        console.status(say("reading_mattermost")) as status,
        _client() as mm,
        transaction(ctx.sessions) as session,
    ):
        taken = take_snapshot(
            session,
            mm,
            ctx.runtime.current,
            extra_channel_ids=channel_ids,
            progress=lambda message: status.update(say("reading_what", what=message)),
        )
        console.print(
            say(
                "snapshot_taken",
                day=taken.day,
                people=taken.people,
                channels=taken.channels,
                posts=taken.posts_fetched,
                requests=taken.requests,
                minimum=taken.minimum_requests,
            )
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
@click.option(
    "--lang",
    type=click.Choice(["fr", "en"]),
    help="Language (default: `envol --lang`, $ENVOL_LANG, else the settings').",
)
def report(html_path: Path | None, csv_dir: Path | None, post: bool, lang: str | None) -> None:
    """The adoption report of the latest snapshot: tables here, and HTML, CSV or a post."""
    from plugin import clock
    from plugin.reports.csv_export import export_csv
    from plugin.reports.data import load_report_data
    from plugin.reports.html import write_html
    from plugin.reports.tables import all_tables
    from plugin.reports.weekly import post_weekly_report, report_page_url

    ctx = context()
    settings = ctx.runtime.current
    language = cast("Lang", lang or cli_language())
    with transaction(ctx.sessions) as session:
        data = load_report_data(
            session,
            company=settings.company_name,
            lang=language,
            manager_figures=settings.report_manager_figures,
        )
        for table in all_tables(data):
            print_report_table(table)
        if html_path is not None:
            with console.status(say("drawing_charts")):
                write_html(data, settings, html_path)
            console.print(say("html_written", path=html_path.resolve()))
        if csv_dir is not None:
            written = export_csv(session, csv_dir, manager_figures=settings.report_manager_figures)
            files = ", ".join(
                say("csv_file", path=csv_dir / name, rows=rows) for name, rows in written.items()
            )
            console.print(say("csv_written", files=files))
    if post:
        url = report_page_url(ctx.settings.public_url)
        with _client() as mm:
            delivery = post_weekly_report(ctx.sessions, mm, settings, clock.now(), report_url=url)
        if delivery.already_posted:
            console.print(
                say("report_already_posted", week=delivery.week, post_id=delivery.post_id)
            )
        else:
            console.print(
                say(
                    "report_posted", week=delivery.week, channel=settings.committee_channel, url=url
                )
            )


def print_report_table(table: ReportTable) -> None:
    """One report table: its title, the group names kept whole, the figures to the right, and
    the privacy note under it; a list instead when the terminal is too narrow."""
    shown = Table(title=table.title, title_justify="left", caption=table.note or None)
    for index, column in enumerate(table.columns):
        shown.add_column(column, justify="left" if index == 0 else "right")
    for row in table.rows:
        shown.add_row(*row)
    print_table(shown)


def register(root: click.Group) -> None:
    root.add_command(metrics_group)
    root.add_command(report)
