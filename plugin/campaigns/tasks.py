"""Celery task of the campaign: the dispatcher, run by beat every minute.

It takes no arguments and re-reads everything: the plan from ``seed_content/campaign/``, the
launch date from the runtime settings (a change in the System Console re-plans at the next
tick), and what is due from the database. Two ticks running at once claim different rows.
"""

from __future__ import annotations

import logging
from typing import Any

from plugin import app as envol_app
from plugin.campaigns.runner import build_dispatcher
from plugin.tasks import celery_app

log = logging.getLogger(__name__)

DISPATCH_TASK = "campaigns.dispatch"


@celery_app.task(name=DISPATCH_TASK)
def dispatch_campaign() -> dict[str, Any]:
    report = build_dispatcher(envol_app.get_context()).run()
    if report.blocked:
        log.error(
            "campaign blocked by %d plan error(s): %s", len(report.blocked), report.blocked[0]
        )
    summary = {
        "sent": report.sent,
        "retried": report.retried,
        "failed": report.failed,
        "skipped": report.skipped,
        "recovered": report.recovered,
        "materialised": report.materialised,
        "missed": report.missed,
    }
    log.info("campaign dispatch %s", summary)
    return summary
