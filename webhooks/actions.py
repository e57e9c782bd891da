"""Button clicks: ``/actions/ticket`` (animators), ``/actions/suggestion`` (the requester's
FAQ suggestions), ``/actions/poll`` (votes) and ``/actions/survey`` (open the launch survey).

Every button's ``context`` carries a token signed by Envol for one purpose, expiring, bound to
the user where only one person may click (suggestions, survey), and bound to its post by the
database (a ticket's or poll's button only works on that ticket's or poll's post).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy.orm import Session

from plugin.db import transaction
from plugin.errors import EnvolError
from plugin.support import service as support
from plugin.support.dialogs import answer_dialog, faq_dialog
from plugin.support.messages import t
from plugin.support.models import SupportTicket
from plugin.surveys import service as surveys
from webhooks.answers import PersonNotice
from webhooks.commands.payloads import (
    ActionRequest,
    PayloadInvalid,
    install_error_handlers,
    parse_action_json,
)
from webhooks.commands.survey import open_survey_dialog
from webhooks.contexts import PollButton, SuggestionButton, SurveyButton, TicketButton, verify
from webhooks.integration import Integration, integration

log = logging.getLogger(__name__)

blueprint = Blueprint("actions", __name__)
install_error_handlers(blueprint)


def _action_request() -> ActionRequest:
    return parse_action_json(request.get_json(silent=True, force=True))


def _ephemeral(message: str) -> Any:
    return jsonify({"ephemeral_text": message})


@blueprint.post("/actions/ticket")
def ticket_action() -> Any:
    found = integration()
    action = _action_request()
    button = verify(
        found.signer,
        action.signed,
        TicketButton,
        user_id=None,
        max_age=support.TICKET_BUTTON_LIFETIME,
    )
    ticket_id, verb = button.ticket_id, button.action
    # Mattermost is asked before the transaction and after it, never while it holds its lock.
    language = found.language_of(action.user_id)
    animator = found.is_animator(action.user_id)
    dialog: dict[str, Any] | None = None
    with transaction(found.context.sessions) as session:
        ticket = existing_ticket(session, ticket_id)
        if ticket.root_post_id != action.post_id:
            raise PersonNotice("refused.other_post")
        if not animator:
            return _ephemeral(t("not_animator", language))
        try:
            if verb == "take":
                support.take(session, ticket, action.user_id)
            elif verb == "resolve":
                support.resolve(session, ticket, action.user_id)
            elif verb in ("answer", "faq"):
                if ticket.status in support.CLOSED and verb == "answer":
                    return _ephemeral(t("already_closed", language))
                dialog = (
                    answer_dialog(
                        found.signer, action.user_id, language, ticket.id, ticket.description
                    )
                    if verb == "answer"
                    else faq_dialog(
                        found.signer,
                        action.user_id,
                        language,
                        ticket.id,
                        ticket.description,
                        ticket.answer,
                    )
                )
        except support.NotAllowed:
            return _ephemeral(t("already_closed", language))
        session.flush()
    if dialog is not None:
        _open_dialog(found, action, dialog)
        return jsonify({})
    # The ticket as committed (sessions do not expire on commit): redrawn outside the lock.
    update = support.render_ticket_post(found.client, found.signer, found.public_url, ticket)
    return jsonify({"update": update})


def existing_ticket(session: Session, ticket_id: int) -> SupportTicket:
    """The ticket a signed button or form names, locked; gone (erased) → told in words."""
    try:
        return support.get_ticket(session, ticket_id, for_update=True)
    except support.TicketNotFound as error:
        raise PersonNotice("refused.gone") from error


def _open_dialog(found: Integration, action: ActionRequest, dialog: dict[str, Any]) -> None:
    if not action.trigger_id:
        raise PayloadInvalid("a trigger_id is needed to open a form")
    try:
        found.client.open_dialog(action.trigger_id, found.url("dialogs/ticket"), dialog)
    except EnvolError as error:
        log.warning("ticket dialog not opened: %s", type(error).__name__)
        raise PersonNotice("refused.form_failed") from error


@blueprint.post("/actions/suggestion")
def suggestion_action() -> Any:
    found = integration()
    action = _action_request()
    button = verify(
        found.signer,
        action.signed,
        SuggestionButton,
        user_id=action.user_id,
        max_age=support.SUGGESTION_BUTTON_LIFETIME,
    )
    ticket_id, verb = button.ticket_id, button.action
    with transaction(found.context.sessions) as session:
        ticket = existing_ticket(session, ticket_id)
        if ticket.suggestion_post_id != action.post_id:
            raise PersonNotice("refused.other_post")
        language = ticket.language
        if verb == "answered":
            support.close_self_served(session, ticket, action.user_id, button.slug)
            message = t("suggest.closed", language)
        else:
            support.request_posting(session, ticket)
            message = t("suggest.posted", language)
    # The choice is made: redraw the DM without its buttons.
    return jsonify({"update": {"message": message, "props": {}}})


@blueprint.post("/actions/poll")
def poll_action() -> Any:
    found = integration()
    action = _action_request()
    button = verify(
        found.signer, action.signed, PollButton, user_id=None, max_age=surveys.POLL_BUTTON_LIFETIME
    )
    key, option = button.poll, button.option
    # The post a seeded poll was made from, read before the transaction (never inside it).
    with found.context.sessions() as session:
        known = surveys.get_poll(session, key)
        unread = known is None or (
            known.post_message is None and known.post_id in (None, action.post_id)
        )
    post = found.client.get_post(action.post_id) if unread else None
    refused: surveys.PollError | None = None
    with transaction(found.context.sessions) as session:
        poll = surveys.get_poll(session, key)
        if poll is None:
            if button.question is None or button.options is None:
                raise PayloadInvalid(f"unknown poll {key!r}")
            try:
                poll = surveys.ensure_poll(
                    session,
                    key,
                    button.question,
                    list(button.options),
                    language=button.lang,
                    created_by="seed",
                )
            except surveys.PollError as error:
                raise PayloadInvalid(str(error)) from error
        if poll.post_id is None:
            # A seeded poll: its first vote binds it to its post.
            poll.post_id, poll.channel_id = action.post_id, action.channel_id or None
        elif poll.post_id != action.post_id:
            raise PersonNotice("refused.other_post")
        if poll.post_message is None:
            surveys.remember_post(poll, post)
        try:
            surveys.record_vote(session, poll, action.user_id, option)
        except surveys.PollError as error:
            refused = error
        else:
            session.flush()
            update = surveys.rendered_poll_post(session, poll, found.signer, found.public_url)
            voted = surveys.text("poll.voted", poll.language, option=poll.options[option])
    if refused is not None:
        language = found.language_of(action.user_id)
        return _ephemeral(surveys.text(refused.notice or "poll.refused", language))
    return jsonify({"update": update, "ephemeral_text": voted})


@blueprint.post("/actions/survey")
def survey_action() -> Any:
    found = integration()
    action = _action_request()
    verify(
        found.signer,
        action.signed,
        SurveyButton,
        user_id=action.user_id,
        max_age=surveys.SURVEY_BUTTON_LIFETIME,
    )
    language = found.language_of(action.user_id)
    if not open_survey_dialog(found, action.user_id, action.trigger_id, language):
        raise PersonNotice("refused.form_failed")
    return jsonify({})
