"""The weekly report in the launch-committee channel: a few lines, a PNG chart, three actions.

Posting is two steps, each its own transaction, so that a crash never posts twice:

1. ``claim_week`` stores a ``WeeklyReportPost`` row for the ISO week (unique), committed first;
2. ``deliver`` uploads the chart and posts with a marker (``envol-weekly-report-<week>``). When a
   claimed week has no post id yet (a crash after the post, before the commit), it first looks
   for a post carrying that marker in the channel and records it instead of posting again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from plugin import clock
from plugin.db import transaction
from plugin.errors import EnvolError
from plugin.mattermost import MattermostClient, NotFound
from plugin.metrics.measures import percent
from plugin.metrics.models import WeeklyReportPost
from plugin.reports.actions import things_to_act_on
from plugin.reports.charts import dashboard_png
from plugin.reports.data import ReportData, load_report_data
from plugin.reports.html import render_html
from plugin.reports.texts import pct, t
from plugin.settings import RuntimeSettings

# Look this far back for an already-made post of a claimed week (server clock may differ).
_MARKER_LOOKBACK = dt.timedelta(hours=1)


def iso_week(moment: dt.datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def marker_for(week: str) -> str:
    return f"envol-weekly-report-{week}"


def report_page_url(public_url: str) -> str:
    """The launch console's report page, where the committee reads the whole report."""
    return public_url.rstrip("/") + "/console/reports"


def compose_message(
    data: ReportData, settings: RuntimeSettings, week: str, report_url: str | None = None
) -> str:
    """The post's text: title, one summary line, the three things to act on, and where the whole
    report is: the console page at ``report_url``, else the HTML file attached to the post."""
    lang = data.lang
    lines = [t("weekly_title", lang, week=week, day=data.day.isoformat())]
    overall = data.overall
    if overall is not None:
        lines.append(
            t(
                "weekly_summary",
                lang,
                joined=overall.joined,
                invited=overall.invited,
                activation=pct(percent(overall.joined, overall.invited)),
                active=pct(percent(overall.active_7d, overall.joined)),
                profiles=pct(percent(overall.profile_complete, overall.joined)),
                contributors=pct(percent(overall.contributed_7d, overall.joined)),
            )
        )
    lines += ["", f"**{t('things_to_act_on', lang)}**"]
    actions = things_to_act_on(data, settings)
    if actions:
        lines += [f"{index}. {action.text}" for index, action in enumerate(actions, start=1)]
    else:
        lines.append(t("nothing_to_act_on", lang))
    if report_url:
        lines += ["", t("weekly_footer_link", lang, url=report_url)]
    else:
        lines += ["", t("weekly_footer_attached", lang)]
    return "\n".join(lines)


def claim_week(session: Session, week: str, *, lock: bool = False) -> WeeklyReportPost:
    """The week's row, created if needed. Commit before calling ``deliver``; with ``lock``, the
    row is locked (PostgreSQL) so two workers delivering at once take turns."""
    query = select(WeeklyReportPost).where(WeeklyReportPost.week == week)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        row = WeeklyReportPost(week=week, claimed_at=clock.now())
        session.add(row)
        session.flush()
    return row


@dataclass(frozen=True)
class Delivery:
    week: str
    post_id: str
    already_posted: bool


def committee_channel_id(mm: MattermostClient, settings: RuntimeSettings) -> str:
    try:
        team = mm.get_team_by_name(settings.team_name)
        channel = mm.get_channel_by_name(team["id"], settings.committee_channel)
    except NotFound as error:
        raise EnvolError(
            f"The launch-committee channel ~{settings.committee_channel} was not found in the "
            f"team {settings.team_name}: create it (seeding) or fix CommitteeChannel in the "
            "plugin settings."
        ) from error
    return str(channel["id"])


def deliver(
    session: Session,
    mm: MattermostClient,
    settings: RuntimeSettings,
    row: WeeklyReportPost,
    report_url: str | None = None,
) -> Delivery:
    """Post the report of ``row.week`` unless it is already there; records the post id. The
    post links to ``report_url`` (the console's report page), else carries the HTML report."""
    if row.post_id:
        return Delivery(row.week, row.post_id, already_posted=True)
    channel_id = row.channel_id or committee_channel_id(mm, settings)
    marker = marker_for(row.week)
    existing = mm.find_post_by_marker(channel_id, marker, row.claimed_at - _MARKER_LOOKBACK)
    if existing is not None:
        row.channel_id, row.post_id, row.posted_at = channel_id, existing["id"], clock.now()
        return Delivery(row.week, existing["id"], already_posted=True)
    data = load_report_data(
        session,
        company=settings.company_name,
        lang=settings.default_language,
        manager_figures=settings.report_manager_figures,
    )
    png = dashboard_png(data)
    info = mm.upload_file(channel_id, png, f"envol-adoption-{row.week}.png", "image/png")
    file_ids = [info["id"]]
    if not report_url:
        page = render_html(data, settings).encode("utf-8")
        name = f"{t('report_file', data.lang)}-{row.week}.html"
        file_ids.append(mm.upload_file(channel_id, page, name, "text/html")["id"])
    post = mm.create_post(
        channel_id,
        compose_message(data, settings, row.week, report_url),
        file_ids=file_ids,
        marker=marker,
    )
    row.channel_id = channel_id
    row.snapshot_id = data.snapshot.id
    row.file_id = info["id"]
    row.post_id = post["id"]
    row.posted_at = clock.now()
    row.error = ""
    return Delivery(row.week, post["id"], already_posted=False)


def post_weekly_report(
    sessions: sessionmaker[Session],
    mm: MattermostClient,
    settings: RuntimeSettings,
    now: dt.datetime,
    report_url: str | None = None,
) -> Delivery:
    """This week's report in the launch-committee channel, once: the week is claimed (and
    committed) before anything is posted, then delivered under the row's lock."""
    week = iso_week(now)
    with transaction(sessions) as session:
        claim_week(session, week)
    with transaction(sessions) as session:
        return deliver(session, mm, settings, claim_week(session, week, lock=True), report_url)
