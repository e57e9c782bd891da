"""Celery tasks: the daily snapshot and the weekly report (both safe to run twice)."""

from __future__ import annotations

import logging

from plugin import app as envol_app
from plugin import clock
from plugin.db import transaction
from plugin.mattermost import MattermostClient
from plugin.metrics.service import take_snapshot
from plugin.reports import weekly
from plugin.tasks import celery_app

log = logging.getLogger(__name__)


@celery_app.task(name="metrics.take_daily_snapshot")
def take_daily_snapshot() -> int:
    """Beat, daily: today's snapshot (taken again the same day, it replaces the day's rows)."""
    context = envol_app.get_context()
    with (
        MattermostClient.from_settings(context.settings) as mm,
        transaction(context.sessions) as session,
    ):
        snapshot = take_snapshot(session, mm, context.runtime.current)
        log.info("metrics snapshot %s: %s requests", snapshot.day, snapshot.requests)
        return snapshot.id


@celery_app.task(name="metrics.post_weekly_report")
def post_weekly_report() -> str:
    """Beat, weekly: the report in the launch-committee channel, once per ISO week, when
    ``EnableWeeklyReport`` is on. The week is claimed (committed) before anything is posted."""
    context = envol_app.get_context()
    settings = context.runtime.current
    if not settings.enable_weekly_report:
        return "disabled"
    with MattermostClient.from_settings(context.settings) as mm:
        delivery = weekly.post_weekly_report(context.sessions, mm, settings, clock.now())
    return delivery.post_id
