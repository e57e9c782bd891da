"""Celery task: the daily snapshot, safe to run twice (the weekly report: plugin/reports/)."""

from __future__ import annotations

import logging

from plugin import app as envol_app
from plugin.db import transaction
from plugin.mattermost import MattermostClient
from plugin.metrics.service import take_snapshot
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
