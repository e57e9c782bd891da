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

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import BadRequest, HTTPException

from plugin import i18n
from plugin.errors import EnvolError
from plugin.security.service import RequestRejected, StaleRequest
from webhooks.integration import integration

log = logging.getLogger(__name__)

MESSAGES = Path(__file__).with_name("messages.yaml")
_ID = re.compile(r"^[a-z0-9]{26}$")
# The blueprints whose callers are people in Mattermost: they are answered 200 in words.
PERSON_KINDS = ("commands", "actions", "dialogs")
# Mattermost's payloads are small and shallow (a dialog's submission is two levels deep).
MAX_BODY_BYTES = 256 * 1024
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


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


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``body`` nests arrays or objects more than ``limit`` levels deep (brackets
    inside strings do not count). Checked before parsing: Python's parser recurses, and a
    100,000-level body would otherwise end in a ``RecursionError``."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_A_BRACKET)
    depth = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            return True
    return False


def install_app_error_handlers(app: Flask) -> None:
    """What every endpoint shares, installed once on the app: bodies limited in size and depth
    before anything parses them, and the answers to failures no blueprint handles — a database
    that is down, or a bug — with one log line each."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES  # beyond: 413, before reading the rest

    @app.before_request
    def _limit_body() -> None:
        if request.method != "POST" or request.mimetype in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            return  # forms are flat; their size is bounded by MAX_CONTENT_LENGTH
        if json_too_deep(request.get_data(cache=True)):
            log.info("rejected %s request: JSON nested too deep", request.blueprint or "app")
            raise BadRequest("JSON nested too deep")

    # The connection failed or was lost (not a constraint a bug broke: that is unexpected).
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_down(error: DBAPIError) -> Any:
        log.error(
            "%s request not served: the database is unavailable (%s)",
            request.blueprint or "app",
            type(error.orig).__name__ if error.orig is not None else type(error).__name__,
        )
        return _unavailable()

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return error
        log.error("%s request failed", request.blueprint or "app", exc_info=error)
        if request.blueprint in PERSON_KINDS:
            return jsonify(person_body(request.blueprint, t("refused.failed", _safe_language())))
        return refused(500)


def _safe_language() -> str:
    """The sender's language without touching the database (it may be what failed)."""
    found = integration(current_app._get_current_object())  # type: ignore[attr-defined]
    user_id = _user_id()
    try:
        user = found.users.get(user_id) if user_id else None
    except Exception:  # Mattermost too may be down: the default language then
        user = None
    locale = str((user or {}).get("locale") or "")[:2].lower()
    return locale if locale in i18n.LANGUAGES else found.runtime.default_language


def _unavailable() -> Any:
    if request.blueprint in PERSON_KINDS:
        # A person typed a command or clicked: Mattermost shows only a 200's words.
        text = t("refused.unavailable", _safe_language())
        return jsonify(person_body(request.blueprint, text))
    return jsonify({"error": "Envol is unavailable, try again in a few minutes."}), 503


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
