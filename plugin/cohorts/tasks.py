"""Celery tasks of the cohorts capability. They take ids and are safe to run twice."""

from __future__ import annotations

from plugin import app as envol_app
from plugin.cohorts.waitlist import CONFIRMATION_TASK, send_waitlist_confirmation
from plugin.db import transaction
from plugin.tasks import celery_app


@celery_app.task(
    name=CONFIRMATION_TASK,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_kwargs={"max_retries": 5},
)
def send_waitlist_confirmation_task(request_id: int) -> None:
    context = envol_app.get_context()
    runtime = context.runtime.current
    with transaction(context.sessions) as session:
        send_waitlist_confirmation(
            session,
            request_id,
            smtp_url=context.settings.smtp_url,
            mail_from=context.settings.mail_from,
            company=runtime.company_name,
        )
