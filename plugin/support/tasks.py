"""Celery tasks of the support space: thin wrappers that open a session and call the service.

Each takes ids, re-reads the ticket and is safe to run twice (see
``plugin.delivery.posts.post_once``).
"""

from __future__ import annotations

import logging

from plugin import app as envol_app
from plugin.db import transaction
from plugin.mattermost import MattermostClient
from plugin.security.service import Signer
from plugin.support import service
from plugin.tasks import celery_app

log = logging.getLogger(__name__)


def _tools() -> tuple[envol_app.EnvolContext, MattermostClient, Signer]:
    context = envol_app.get_context()
    client = MattermostClient.from_settings(context.settings)
    return context, client, Signer(context.settings.secret_key.get_secret_value())


@celery_app.task(name="support.offer_suggestions")
def offer_suggestions(ticket_id: int) -> bool:
    context, client, signer = _tools()
    with transaction(context.sessions) as session:
        return service.offer_suggestions(
            session, client, signer, context.settings.public_url, ticket_id
        )


@celery_app.task(name="support.post_ticket")
def post_ticket(ticket_id: int) -> bool:
    context, client, signer = _tools()
    with transaction(context.sessions) as session:
        return service.post_ticket(
            session, client, signer, context.runtime.current, context.settings.public_url, ticket_id
        )


@celery_app.task(name="support.publish_in_thread")
def publish_in_thread(ticket_id: int, what: str) -> bool:
    context, client, _ = _tools()
    with transaction(context.sessions) as session:
        return service.publish_in_thread(session, client, ticket_id, what)


@celery_app.task(name="support.notify_requester")
def notify_requester(ticket_id: int) -> list[str]:
    context, client, _ = _tools()
    with transaction(context.sessions) as session:
        return service.notify_requester(session, client, ticket_id)


@celery_app.task(name="support.remind_animators")
def remind_animators() -> int:
    """Beat: nudge the animators about requests nobody answered within the delay."""
    context, client, _ = _tools()
    with transaction(context.sessions) as session:
        return service.remind_animators(session, client, context.runtime.current)


@celery_app.task(name="support.count_idea_votes")
def count_idea_votes() -> int:
    """Beat: count the people who reacted to each idea."""
    context, client, _ = _tools()
    bot_id = client.get_me()["id"]
    with transaction(context.sessions) as session:
        return service.count_idea_votes(session, client, bot_user_id=bot_id)
