"""Celery tasks of the support space: thin wrappers that open a session and call the service.

Each takes ids, re-reads the ticket and is safe to run twice (see
``plugin.delivery.posts.post_once``). The services open their own short transactions: no
Mattermost call is made while one is open.
"""

from __future__ import annotations

import logging
from typing import NoReturn

from celery import Task

from plugin import app as envol_app
from plugin.mattermost import MattermostClient
from plugin.security.service import Signer
from plugin.support import service
from plugin.tasks import celery_app

log = logging.getLogger(__name__)

# A request another worker holds: its work ends within a lease (10 minutes by default).
BUSY_RETRY_SECONDS = 60
BUSY_MAX_RETRIES = 15


def _tools() -> tuple[envol_app.EnvolContext, MattermostClient, Signer]:
    context = envol_app.get_context()
    client = MattermostClient.from_settings(context.settings)
    return context, client, Signer(context.settings.secret_key.get_secret_value())


def _retry_when_busy(task: Task, error: service.TicketBusy) -> NoReturn:
    # The worker holding the request does the work, or its lease ends; come back then.
    raise task.retry(exc=error, countdown=BUSY_RETRY_SECONDS, max_retries=BUSY_MAX_RETRIES)


@celery_app.task(name="support.offer_suggestions", bind=True)
def offer_suggestions(self: Task, ticket_id: int) -> bool:
    context, client, signer = _tools()
    try:
        return service.offer_suggestions(
            context.sessions, client, signer, context.settings.public_url, ticket_id
        )
    except service.TicketBusy as busy:
        _retry_when_busy(self, busy)


@celery_app.task(name="support.post_ticket", bind=True)
def post_ticket(self: Task, ticket_id: int) -> bool:
    context, client, signer = _tools()
    try:
        return service.post_ticket(
            context.sessions,
            client,
            signer,
            context.runtime.current,
            context.settings.public_url,
            ticket_id,
        )
    except service.TicketBusy as busy:
        _retry_when_busy(self, busy)


@celery_app.task(name="support.publish_in_thread")
def publish_in_thread(ticket_id: int, what: str) -> bool:
    context, client, _ = _tools()
    return service.publish_in_thread(context.sessions, client, ticket_id, what)


@celery_app.task(name="support.notify_requester", bind=True)
def notify_requester(self: Task, ticket_id: int) -> list[str]:
    context, client, _ = _tools()
    try:
        return service.notify_requester(context.sessions, client, ticket_id)
    except service.TicketBusy as busy:
        _retry_when_busy(self, busy)


@celery_app.task(name="support.remind_animators")
def remind_animators() -> int:
    """Beat: nudge the animators about requests nobody answered within the delay."""
    context, client, _ = _tools()
    return service.remind_animators(context.sessions, client, context.runtime.current)


@celery_app.task(name="support.count_idea_votes")
def count_idea_votes() -> int:
    """Beat: count the people who reacted to each idea."""
    context, client, _ = _tools()
    bot_id = client.get_me()["id"]
    return service.count_idea_votes(context.sessions, client, bot_user_id=bot_id)
