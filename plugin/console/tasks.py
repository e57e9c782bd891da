"""The console's one task: tell the committee what awaits its decision (hourly on the beat)."""

from __future__ import annotations

import logging

from plugin import app as envol_app
from plugin.campaigns.plan import read_plan
from plugin.console.decisions import announce_decisions
from plugin.db import transaction
from plugin.mattermost import MattermostClient
from plugin.security.service import Signer
from plugin.tasks import celery_app

log = logging.getLogger(__name__)


def announce(context: envol_app.EnvolContext, client: MattermostClient) -> list[str]:
    """Announce what is pending; shared by the task and ``envol console announce``."""
    plan, _ = read_plan()
    with transaction(context.sessions) as session:
        posted = announce_decisions(
            session,
            client,
            context.runtime.current,
            plan,
            signer=Signer(context.settings.secret_key.get_secret_value()),
            public_url=context.settings.public_url,
        )
    return [decision.marker for decision in posted]


@celery_app.task(name="console.announce_decisions")
def announce_decisions_task() -> int:
    context = envol_app.get_context()
    with MattermostClient.from_settings(context.settings) as client:
        posted = announce(context, client)
    if posted:
        log.info("console: announced %d decision(s) to the committee", len(posted))
    return len(posted)
