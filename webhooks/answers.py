"""What Envol answers Mattermost when a request cannot be served, and to whom it speaks.

Mattermost drops the body of any answer that is not HTTP 200 to a slash command
(``DoCommandRequest``), a button or a dialog (``DoActionRequest``) and shows the person its own
generic error ("Command with a trigger of 'envol' returned response 409 CONFLICT.", "Action
integration error."). So:

* a refusal meant for a legitimate person is a **200** carrying the sentence, in the person's
  language, saying what to do next — a slash command's ephemeral ``text``, a button's
  ``ephemeral_text``, a dialog's ``error`` (which keeps it open); handlers raise ``PersonNotice``
  and the signer's ``StaleRequest`` (expired, already sent, someone else's) is one too;
* a request that fails authentication (no or wrong token, a forged, tampered or misdirected
  signature) keeps its 4xx and is told nothing useful;
* a request Mattermost cannot have sent (malformed payload) is a 400 naming the field, for
  whoever debugs an integration — no person ever sees it.

The sentences live in ``messages.yaml`` next to this module.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from plugin import i18n
from plugin.errors import EnvolError
from plugin.security.service import RequestRejected, StaleRequest
from webhooks.integration import integration

log = logging.getLogger(__name__)

MESSAGES = Path(__file__).with_name("messages.yaml")
_ID = re.compile(r"^[a-z0-9]{26}$")


def t(key: str, language: str, **params: Any) -> str:
    """The text for ``key`` in ``language`` (French when the language is unknown)."""
    return i18n.load_catalogue(MESSAGES).render(key, language, **params)


class PersonNotice(EnvolError):
    """A legitimate person's request that Envol refuses: answered 200 with the catalogue's
    sentence ``key`` (``webhooks/messages.yaml``) in the person's language."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def person_body(kind: str, text: str) -> dict[str, Any]:
    """The answer Mattermost shows the person: ``kind`` is the blueprint (commands, actions,
    dialogs)."""
    if kind == "commands":
        return {"response_type": "ephemeral", "text": text}
    if kind == "actions":
        return {"ephemeral_text": text}
    return {"error": text}


class PayloadInvalid(EnvolError):
    """The request is not what Mattermost sends; the message names the field."""

    status = 400


def _user_id() -> str:
    """Who sent the request, as Mattermost says (the form or the JSON body); "" if unknown."""
    value: Any = request.form.get("user_id") if request.form else None
    if value is None:
        body = request.get_json(silent=True, force=True)
        value = body.get("user_id") if isinstance(body, dict) else None
    return value if isinstance(value, str) and _ID.match(value) else ""


def person_language() -> str:
    """The sender's Mattermost locale (or roster language, or the default language)."""
    found = integration(current_app._get_current_object())  # type: ignore[attr-defined]
    user_id = _user_id()
    if not user_id:
        return found.runtime.default_language
    return found.language_of(user_id)


def tell_person(kind: str, key: str, **params: Any) -> Response:
    """200 with the catalogue sentence ``key`` for the sender, shaped for ``kind``."""
    return jsonify(person_body(kind, t(key, person_language(), **params)))


def refused(status: int) -> tuple[Response, int]:
    """A 4xx that tells the sender nothing useful: the status' own name."""
    return jsonify({"error": HTTPStatus(status).phrase.lower()}), status


def install_error_handlers(blueprint: Blueprint) -> None:
    """The answers above for one of the three integration blueprints. Nothing about the request
    is logged but its kind, so no token or personal data ends up in a log."""
    kind = blueprint.name

    @blueprint.errorhandler(PersonNotice)
    def _notice(error: PersonNotice) -> Any:
        log.info("%s request refused to the person: %s", kind, error.key)
        return tell_person(kind, error.key, **error.params)

    @blueprint.errorhandler(StaleRequest)
    def _stale(error: StaleRequest) -> Any:
        log.info("%s request refused to the person: %s", kind, error.reason)
        return tell_person(kind, f"refused.{error.reason}")

    @blueprint.errorhandler(RequestRejected)
    def _rejected(error: RequestRejected) -> Any:
        log.info("rejected %s request (HTTP %s): %s", kind, error.status, error)
        return refused(error.status)

    @blueprint.errorhandler(PayloadInvalid)
    def _invalid(error: PayloadInvalid) -> Any:
        log.info("rejected %s request: %s", kind, error)
        return jsonify({"error": f"Invalid request: {error}."}), 400

    @blueprint.errorhandler(EnvolError)
    def _failed(error: EnvolError) -> Any:
        # A person's request that Envol could not serve (Mattermost unreachable, a vanished
        # record…): a 200 saying to try again, not Mattermost's generic error.
        log.warning("%s request failed: %s", kind, type(error).__name__)
        return tell_person(kind, "refused.failed")

    @blueprint.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        return refused(error.code or 400)
