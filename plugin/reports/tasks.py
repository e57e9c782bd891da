"""Celery task: the weekly report in the launch committee's channel (safe to run twice)."""

from __future__ import annotations

from plugin import app as envol_app
from plugin import clock
from plugin.mattermost import MattermostClient
from plugin.reports import weekly
from plugin.tasks import celery_app


@celery_app.task(name="reports.post_weekly_report")
def post_weekly_report() -> str:
    """Beat, weekly: the report in the launch-committee channel, once per ISO week, when
    ``EnableWeeklyReport`` is on. The week is claimed (committed) before anything is posted."""
    context = envol_app.get_context()
    settings = context.runtime.current
    if not settings.enable_weekly_report:
        return "disabled"
    with MattermostClient.from_settings(context.settings) as mm:
        delivery = weekly.post_weekly_report(
            context.sessions,
            mm,
            settings,
            clock.now(),
            report_url=weekly.report_page_url(context.settings.public_url),
        )
    return delivery.post_id
