"""Celery tasks of the invitations capability. They take no arguments but ids (none here: the
database says what is due), re-read everything, and are safe to run twice or concurrently."""

from __future__ import annotations

import logging
import threading

from plugin import app as envol_app
from plugin.delivery.leases import client_limits, lease_duration
from plugin.invitations.drain import run_dispatch
from plugin.invitations.environment import build_environment
from plugin.mattermost import MattermostClient
from plugin.tasks import celery_app, database_outage_logged

log = logging.getLogger("envol.invitations")

_clients: dict[str, MattermostClient] = {}
_clients_lock = threading.Lock()


def shared_client() -> MattermostClient:
    """One adapter per process and server (it is thread-safe and caches DM channel ids)."""
    settings = envol_app.get_context().settings
    with _clients_lock:
        client = _clients.get(settings.mattermost_url)
        if client is None:
            client = _clients[settings.mattermost_url] = MattermostClient.from_settings(
                settings, **client_limits(lease_duration())
            )
        return client


@celery_app.task(name="invitations.dispatch")
def dispatch() -> None:
    """The beat's minute tick: send the invitations and reminders that are due."""
    env = build_environment(envol_app.get_context(), mm=shared_client())
    report = None
    with database_outage_logged("invitations"):
        try:
            report = run_dispatch(env)
        finally:
            env.close()
    if report is None:
        return
    if report.claimed:
        log.info(
            "invitations: %d claimed, %d e-mailed, %d invited by Mattermost, %d added, "
            "%d reminded, %d deferred, %d failed, %d uncertain",
            report.claimed,
            report.emailed,
            report.mattermost_invited,
            report.added_existing,
            report.reminded,
            report.deferred,
            report.failed,
            report.uncertain,
        )
