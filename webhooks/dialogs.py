"""Dialog submissions: ``/dialogs/support``, ``/dialogs/survey`` and ``/dialogs/ticket``.

Each ``state`` is verified (purpose, the submitting user — the only field Mattermost sets —,
age) and spent in the same transaction as the change it allows: a replayed submission is
refused with 409. When a field is wrong the transaction is rolled back, so the state stays
usable and the dialog stays open with the field's message.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request

from plugin.errors import EnvolError
from plugin.queue import enqueue_after_commit
from plugin.support import service as support
from plugin.support.dialogs import (
    ANSWER_CALLBACK,
    DIALOG_LIFETIME,
    FAQ_CALLBACK,
    FAQ_QUESTION_MAX,
    SUPPORT_CALLBACK,
    parse_support_submission,
    text_field,
)
from plugin.support.messages import t
from plugin.surveys import service as surveys
from webhooks.actions import existing_ticket
from webhooks.answers import PersonNotice
from webhooks.commands.payloads import (
    DialogSubmission,
    PayloadInvalid,
    install_error_handlers,
    parse_dialog_json,
)
from webhooks.contexts import (
    SupportDialogState,
    SurveyDialogState,
    TicketAnswerState,
    TicketFaqState,
    verify,
)
from webhooks.integration import integration

log = logging.getLogger(__name__)

blueprint = Blueprint("dialogs", __name__)
install_error_handlers(blueprint)


def _submission(callback_ids: tuple[str, ...]) -> DialogSubmission:
    submission = parse_dialog_json(request.get_json(silent=True, force=True))
    if submission.callback_id not in callback_ids:
        raise PayloadInvalid(f"unexpected dialog {submission.callback_id!r}")
    return submission


def _keep_open(errors: dict[str, str]) -> Any:
    return jsonify({"errors": errors})


@blueprint.post("/dialogs/support")
def support_submitted() -> Any:
    found = integration()
    submission = _submission((SUPPORT_CALLBACK,))
    if submission.cancelled:
        return jsonify({})
    with found.context.sessions() as session:
        state = verify(
            found.signer,
            submission.state,
            SupportDialogState,
            user_id=submission.user_id,
            max_age=DIALOG_LIFETIME,
            session=session,
        )
        language = state.language
        form, errors = parse_support_submission(submission.submission, language)
        if form is None:
            session.rollback()  # the state stays unspent: the person fixes the field and resends
            return _keep_open(errors)
        try:
            support.submit_request(
                session,
                user_id=submission.user_id,
                category=form.category,
                description=form.description,
                language=language,
            )
        except EnvolError as error:
            session.rollback()
            return _keep_open({"description": error.localized(language)})
        session.commit()
    return jsonify({})


@blueprint.post("/dialogs/survey")
def survey_submitted() -> Any:
    found = integration()
    submission = _submission(("launch_survey",))
    if submission.cancelled:
        return jsonify({})
    with found.context.sessions() as session:
        state = verify(
            found.signer,
            submission.state,
            SurveyDialogState,
            user_id=submission.user_id,
            max_age=surveys.SURVEY_DIALOG_LIFETIME,
            session=session,
        )
        answers, errors = surveys.parse_survey_submission(submission.submission, state.language)
        if answers is None:
            session.rollback()
            return _keep_open(errors)
        person_id, current_wave = surveys.respondent(session, submission.user_id)
        surveys.record_response(
            session,
            submission.user_id,
            answers,
            wave_id=state.wave_id if state.wave_id is not None else current_wave,
            person_id=person_id,
        )
        session.commit()
    return jsonify({})


@blueprint.post("/dialogs/ticket")
def ticket_dialog_submitted() -> Any:
    found = integration()
    submission = _submission((ANSWER_CALLBACK, FAQ_CALLBACK))
    if submission.cancelled:
        return jsonify({})
    kind = TicketAnswerState if submission.callback_id == ANSWER_CALLBACK else TicketFaqState
    # Mattermost is asked before the transaction, never while it holds its lock.
    animator = found.is_animator(submission.user_id)
    language = found.language_of(submission.user_id)
    with found.context.sessions() as session:
        ticket_id = verify(
            found.signer,
            submission.state,
            kind,
            user_id=submission.user_id,
            max_age=DIALOG_LIFETIME,
            session=session,
        ).ticket_id
        if not animator:
            raise PersonNotice("refused.animators_only")
        ticket = existing_ticket(session, ticket_id)
        try:
            if submission.callback_id == ANSWER_CALLBACK:
                answer = text_field(submission.submission, "answer")
                if answer is None:
                    session.rollback()
                    return _keep_open({"answer": t("dialog.error.description", language)})
                support.answer(session, ticket, submission.user_id, answer)
            else:
                question = text_field(
                    submission.submission, "question", minimum=5, maximum=FAQ_QUESTION_MAX
                )
                answer = text_field(submission.submission, "answer")
                if question is None or answer is None:
                    session.rollback()
                    return _keep_open(
                        {
                            "question" if question is None else "answer": t(
                                "dialog.error.description", language
                            )
                        }
                    )
                support.make_faq_entry(session, ticket, submission.user_id, question, answer)
                enqueue_after_commit(session, "support.publish_in_thread", ticket.id, "faq")
        except support.NotAllowed:
            session.rollback()
            return jsonify({"error": t("already_closed", language)})
        session.commit()
    return jsonify({})
