"""What Mattermost sends to Envol, parsed into frozen objects before any handler sees it.

Slash commands arrive as a form, buttons and dialogs as JSON. Everything is checked here —
types, lengths, id formats — and anything unexpected becomes ``PayloadInvalid`` (HTTP 400 with a
clear message), so handlers never index raw dicts and bad input never reaches a 5xx. A command
text longer than a post is a person's mistake, answered in words (``webhooks/answers.py``, which
also holds the error handlers of the three integration blueprints).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webhooks import answers
from webhooks.answers import PayloadInvalid, PersonNotice

log = logging.getLogger(__name__)

# Mattermost ids: 26 lowercase base32 characters.
_ID = re.compile(r"^[a-z0-9]{26}$")
# Mattermost lets a person type a command as long as a post: PostMessageMaxRunesV2 = 16,383
# characters (the web app's message box stops there; the server checks nothing more).
MAX_COMMAND_TEXT = 16383
MAX_FIELD = 1024
MAX_SUBMISSION_VALUE = 4000
MAX_SUBMISSION_FIELDS = 20
MAX_CONTEXT_TOKEN = 4096


def _text(
    source: Mapping[str, Any], name: str, *, required: bool = True, limit: int = MAX_FIELD
) -> str:
    value = source.get(name)
    if value is None or value == "":
        if required:
            raise PayloadInvalid(f"missing field {name!r}")
        return ""
    if not isinstance(value, str):
        raise PayloadInvalid(f"field {name!r} must be text")
    if len(value) > limit:
        raise PayloadInvalid(f"field {name!r} is too long (at most {limit} characters)")
    if "\x00" in value:
        raise PayloadInvalid(f"field {name!r} contains a NUL character")
    return value


def _id(source: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = _text(source, name, required=required, limit=64)
    if value and not _ID.match(value):
        raise PayloadInvalid(f"field {name!r} is not a Mattermost id")
    return value


@dataclass(frozen=True)
class CommandRequest:
    """A slash command invocation (``application/x-www-form-urlencoded``)."""

    token: str
    team_id: str
    channel_id: str
    user_id: str
    user_name: str
    command: str
    text: str
    trigger_id: str
    response_url: str

    @property
    def words(self) -> list[str]:
        return self.text.split()

    def __repr__(self) -> str:  # the token never reaches a log through a repr
        return f"<CommandRequest {self.command} user={self.user_id}>"


def parse_command_form(form: Mapping[str, Any]) -> CommandRequest:
    text = form.get("text")
    if isinstance(text, str) and len(text) > MAX_COMMAND_TEXT:
        # A person can paste that much through the API: tell them, in words.
        raise PersonNotice("refused.too_long", length=len(text), maximum=MAX_COMMAND_TEXT)
    command = _text(form, "command", limit=130)
    if not re.fullmatch(r"/[^\s/]{1,128}", command):
        raise PayloadInvalid("field 'command' must be a slash and a trigger word, e.g. /envol")
    return CommandRequest(
        token=_text(form, "token", required=False, limit=128),
        team_id=_id(form, "team_id"),
        channel_id=_id(form, "channel_id"),
        user_id=_id(form, "user_id"),
        user_name=_text(form, "user_name", required=False, limit=64),
        command=command,
        text=_text(form, "text", required=False, limit=MAX_COMMAND_TEXT).strip(),
        trigger_id=_text(form, "trigger_id", required=False, limit=MAX_FIELD),
        response_url=_text(form, "response_url", required=False, limit=MAX_FIELD),
    )


@dataclass(frozen=True)
class ActionRequest:
    """A button click (``PostActionIntegrationRequest``); ``signed`` is the context's token."""

    user_id: str
    user_name: str
    channel_id: str
    team_id: str
    post_id: str
    trigger_id: str
    signed: str
    # Unsigned additions Mattermost makes to the context (e.g. a select's choice).
    extra: Mapping[str, Any] = field(default_factory=dict)


def _mapping(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise PayloadInvalid(f"the {what} must be a JSON object")
    return body


def parse_action_json(body: Any) -> ActionRequest:
    body = _mapping(body, "request body")
    context = _mapping(body.get("context"), "'context' field")
    signed = context.get("signed")
    if not isinstance(signed, str) or not signed:
        raise PayloadInvalid("the button's context carries no signature; it was not made by Envol")
    if len(signed) > MAX_CONTEXT_TOKEN:
        raise PayloadInvalid("the button's context is too long")
    return ActionRequest(
        user_id=_id(body, "user_id"),
        user_name=_text(body, "user_name", required=False, limit=64),
        channel_id=_id(body, "channel_id", required=False),
        team_id=_id(body, "team_id", required=False),
        post_id=_id(body, "post_id"),
        trigger_id=_text(body, "trigger_id", required=False),
        signed=signed,
        extra={k: v for k, v in context.items() if k != "signed" and isinstance(v, str | int)},
    )


SubmissionValue = str | int | float | bool | None


@dataclass(frozen=True)
class DialogSubmission:
    """An interactive dialog's ``SubmitDialogRequest``. Only ``user_id`` is set by the server."""

    callback_id: str
    state: str
    user_id: str
    channel_id: str
    team_id: str
    submission: Mapping[str, SubmissionValue]
    cancelled: bool

    def __repr__(self) -> str:  # the answers may be personal
        return f"<DialogSubmission {self.callback_id} user={self.user_id}>"


def parse_dialog_json(body: Any) -> DialogSubmission:
    body = _mapping(body, "request body")
    kind = body.get("type", "dialog_submission")
    if kind not in ("dialog_submission", "dialog_cancellation"):
        raise PayloadInvalid(f"unsupported dialog event type {kind!r}")
    cancelled = body.get("cancelled", False)
    if not isinstance(cancelled, bool):
        raise PayloadInvalid("field 'cancelled' must be true or false")
    raw_submission = body.get("submission") or {}
    submission_map = _mapping(raw_submission, "'submission' field")
    if len(submission_map) > MAX_SUBMISSION_FIELDS:
        raise PayloadInvalid("too many fields in the submission")
    submission: dict[str, SubmissionValue] = {}
    for name, value in submission_map.items():
        if not isinstance(name, str) or not re.fullmatch(r"[a-z_]{1,40}", name):
            raise PayloadInvalid("unexpected field name in the submission")
        if isinstance(value, str):
            if len(value) > MAX_SUBMISSION_VALUE:
                raise PayloadInvalid(f"field {name!r} is too long")
        elif value is not None and not isinstance(value, int | float | bool):
            raise PayloadInvalid(f"field {name!r} must be text, a number or a checkbox")
        submission[name] = value
    return DialogSubmission(
        callback_id=_text(body, "callback_id", limit=64),
        state=_text(body, "state", limit=MAX_CONTEXT_TOKEN),
        user_id=_id(body, "user_id"),
        channel_id=_id(body, "channel_id", required=False),
        team_id=_id(body, "team_id", required=False),
        submission=submission,
        cancelled=cancelled,
    )


# --------------------------------------------------------------------------- error handling

# The three integration blueprints answer refusals as ``webhooks/answers.py`` says.
install_error_handlers = answers.install_error_handlers
