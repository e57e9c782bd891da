"""Celery tasks of polls and surveys."""

from __future__ import annotations

from plugin import app as envol_app
from plugin.delivery.leases import client_limits, lease_duration
from plugin.delivery.posts import Courier
from plugin.mattermost import MattermostClient
from plugin.security.service import Signer
from plugin.surveys import service
from plugin.tasks import celery_app


@celery_app.task(name="surveys.send_due")
def send_due_surveys() -> int:
    """Beat: send the launch survey to the members of waves open for ``SurveyDelayDays``."""
    context = envol_app.get_context()
    lease = lease_duration()
    client = MattermostClient.from_settings(context.settings, **client_limits(lease))
    signer = Signer(context.settings.secret_key.get_secret_value())
    try:
        return service.send_due_surveys(
            Courier(context.sessions, client, lease=lease),
            signer,
            context.runtime.current,
            context.settings.public_url,
        )
    finally:
        client.close()
