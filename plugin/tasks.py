"""The Celery app and the one beat schedule; it installs Celery as the sender of the tasks
services enqueue after their commit (``plugin/queue.py``).

Tasks live in each capability's ``tasks.py``, take ids (JSON scalars), re-read state and are safe
to run twice: the database, not the broker, holds what is due and what was done. Only task
modules, the CLI's worker command and the demo import this module (``make lint`` checks it).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from celery import Celery, signals
from celery.schedules import crontab
from sqlalchemy.exc import DBAPIError

from plugin import app as envol_app
from plugin import queue
from plugin.audit.service import record
from plugin.db import transaction

log = logging.getLogger(__name__)

# Capability task modules; Celery imports them in the worker.
TASK_MODULES = ["plugin.tasks"]
TASK_MODULES.append("plugin.cohorts.tasks")
TASK_MODULES.append("plugin.campaigns.tasks")
TASK_MODULES.append("plugin.support.tasks")
TASK_MODULES.append("plugin.surveys.tasks")
TASK_MODULES.append("plugin.metrics.tasks")
TASK_MODULES.append("plugin.reports.tasks")
TASK_MODULES += ["plugin.invitations.tasks", "plugin.onboarding.tasks"]
TASK_MODULES.append("plugin.console.tasks")

celery_app = Celery("envol")

# Set by ``configure_celery``: a worker or beat started without it is refused (below).
_CONFIGURED = "envol_configured"
BARE_CELERY_REFUSED = (
    "Start Envol's worker with `envol worker` (add --beat for the scheduler), not "
    "`celery -A plugin.tasks`: Celery alone skips Envol's set-up — the ENVOL_SECRET_KEY check, "
    "the broker from ENVOL_BROKER_URL, every capability's tasks and late acknowledgement."
)


def configure_celery(broker_url: str) -> Celery:
    celery_app.conf.update(
        **{_CONFIGURED: True},
        broker_url=broker_url,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # A task is acknowledged after it ran: a killed worker's task is delivered again, which
        # is safe because every task is idempotent.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        include=TASK_MODULES,
        beat_schedule=BEAT_SCHEDULE,
        broker_transport_options=_transport_options(broker_url),
    )
    return celery_app


def _transport_options(broker_url: str) -> dict[str, Any]:
    if broker_url.startswith("sqla+"):
        # kombu hands these to SQLAlchemy's create_engine: wait on a busy SQLite file.
        return {"connect_args": {"timeout": 30}}
    # Redis redelivers an unacknowledged task after this long (a worker killed mid-task).
    return {"visibility_timeout": 3600}


# The one beat schedule. Each entry is a dispatcher that claims due rows from the database.
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {}
# Tasks committed while the broker was down (``plugin/queue.py``): sent when it is back.
BEAT_SCHEDULE["envol-send-queued"] = {
    "task": "envol.send_queued",
    "schedule": 60.0,
    "options": {"expires": 55},
}
# Invitations and onboarding: the database says what is due; a tick older than a minute is
# dropped (the next one does the same work).
BEAT_SCHEDULE["invitations-dispatch"] = {
    "task": "invitations.dispatch",
    "schedule": 60.0,
    "options": {"expires": 55},
}
BEAT_SCHEDULE["onboarding-cycle"] = {
    "task": "onboarding.cycle",
    "schedule": 60.0,
    "options": {"expires": 55},
}
BEAT_SCHEDULE["onboarding-manager-digests"] = {
    "task": "onboarding.manager_digests",
    "schedule": 3600.0,
}
# The communication plan: what became due is planned and sent; missed ticks catch up.
BEAT_SCHEDULE["campaigns-dispatch"] = {
    "task": "campaigns.dispatch",
    "schedule": 60.0,
    "options": {"expires": 55},
}
BEAT_SCHEDULE["support-remind-animators"] = {"task": "support.remind_animators", "schedule": 900.0}
BEAT_SCHEDULE["support-count-idea-votes"] = {"task": "support.count_idea_votes", "schedule": 1800.0}
BEAT_SCHEDULE["surveys-send-due"] = {"task": "surveys.send_due", "schedule": 3600.0}
# The committee hears of a gate to review or a step to approve once, within the hour.
BEAT_SCHEDULE["console-announce-decisions"] = {
    "task": "console.announce_decisions",
    "schedule": 3600.0,
}
# Metrics: one snapshot a day before office hours; the weekly report (Monday morning) posts only
# when EnableWeeklyReport is on, and once per ISO week whatever the beat does.
BEAT_SCHEDULE["metrics-daily-snapshot"] = {
    "task": "metrics.take_daily_snapshot",
    "schedule": crontab(minute=30, hour=5),
}
BEAT_SCHEDULE["reports-weekly-report"] = {
    "task": "reports.post_weekly_report",
    "schedule": crontab(minute=0, hour=8, day_of_week="mon"),
}


@signals.celeryd_init.connect
@signals.beat_init.connect
def _refuse_unconfigured_start(**_: Any) -> None:
    """``celery -A plugin.tasks worker`` loads this module but not ``envol worker``'s set-up:
    the default broker (amqp://localhost), only this module's tasks (the capabilities' messages
    would be dropped as unregistered), early acknowledgement (a killed worker loses its task)
    and no check of the secret key the tasks sign buttons with. It stops here, before touching
    any broker. ``SystemExit``: Celery logs and ignores a signal handler's ``Exception``."""
    if not celery_app.conf.get(_CONFIGURED):
        raise SystemExit(BARE_CELERY_REFUSED)


@signals.worker_process_init.connect
def _fresh_connections_after_fork(**_: Any) -> None:
    # A forked child must not reuse the parent's pooled connections.
    envol_app.get_context().engine.dispose(close=False)


# --------------------------------------------------------------------------- after-commit enqueue


def _send_with_celery(task_name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # Looked up at each send: tests and the demo stand in for the broker by patching it.
    celery_app.send_task(task_name, args=list(args), kwargs=kwargs)


queue.install_sender(_send_with_celery)


# --------------------------------------------------------------------------- task helpers


@contextlib.contextmanager
def database_outage_logged(work: str) -> Iterator[None]:
    """Around a periodic task: a lost database connection ends this run with one clear line
    instead of a traceback; what the run had claimed is taken up again when its lease ends,
    and the next tick starts afresh on a new connection."""
    try:
        yield
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        log.warning(
            "%s: lost the database connection (%s); rows this run claimed resume when their "
            "lease ends, and the next tick reconnects",
            work,
            str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__,
        )


# --------------------------------------------------------------------------- plumbing tasks


@celery_app.task(name="envol.send_queued")
def send_queued() -> int:
    """Beat: send the tasks committed while the broker was down (``plugin.queue``)."""
    with database_outage_logged("queued tasks"):
        return queue.send_overdue(envol_app.get_context().sessions)
    return 0


@celery_app.task(name="envol.heartbeat")
def heartbeat(note: str) -> None:
    """Proof that a worker runs: writes one audit event. Used by ``envol worker --check``."""
    context = envol_app.get_context()
    with transaction(context.sessions) as session:
        record(session, actor="worker", action="worker.heartbeat", reason=note)
    log.info("heartbeat %s", note)
