"""Celery tasks of the onboarding capability: detection, arrivals and nudges every minute, the
managers' digest every hour (it sends once per ISO week; the other runs find it already sent)."""

from __future__ import annotations

import logging

from plugin import app as envol_app
from plugin.invitations.environment import build_environment
from plugin.invitations.tasks import shared_client
from plugin.tasks import celery_app, database_outage_logged

log = logging.getLogger("envol.onboarding")


@celery_app.task(name="onboarding.cycle")
def onboarding_cycle() -> None:
    from plugin.onboarding.cycle import run_onboarding

    env = build_environment(envol_app.get_context(), mm=shared_client())
    report = None
    with database_outage_logged("onboarding"):
        try:
            report = run_onboarding(env)
        finally:
            env.close()
    if report is None:
        return
    if report.detection.joined or report.activated or report.nudged:
        log.info(
            "onboarding: %d joined, %d activated, %d welcomed, %d nudged",
            report.detection.joined,
            report.activated,
            report.welcomed,
            report.nudged,
        )


@celery_app.task(name="onboarding.manager_digests")
def manager_digests() -> None:
    from plugin.onboarding.digest import send_manager_digests

    env = build_environment(envol_app.get_context(), mm=shared_client())
    report = None
    with database_outage_logged("manager digests"):
        try:
            report = send_manager_digests(env)
        finally:
            env.close()
    if report is None:
        return
    if report.sent:
        log.info("manager digests for %s: %d sent", report.week, report.sent)
