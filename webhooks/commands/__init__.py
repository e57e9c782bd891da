"""``POST /commands``: every slash command of Envol (``/envol``, ``/aide`` …) arrives here.

The token is checked first (constant time, against the tokens stored by ``envol commands
install``; unknown → 401), the form is parsed into a ``CommandRequest``, and the sub-command
from the registry answers — at once for cheap reads, by opening a dialog first, or by enqueuing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, jsonify, request

from plugin.security.service import RequestRejected, command_token_matches
from plugin.slash_registration.service import known_tokens
from webhooks.commands.base import HELP_WORDS, Invocation, Reply, fold
from webhooks.commands.payloads import install_error_handlers, parse_command_form
from webhooks.commands.registry import build_registry, help_text
from webhooks.context import envol_context
from webhooks.integration import Integration, integration

log = logging.getLogger(__name__)

blueprint = Blueprint("commands", __name__)
install_error_handlers(blueprint)

# Tokens change only on ``envol commands install``; re-read them at most this often.
TOKEN_CACHE_SECONDS = 5.0
_token_cache: dict[tuple[int, str], tuple[float, list[str]]] = {}


@blueprint.record_once
def _configure_task_queue(state: Any) -> None:
    # The web process enqueues tasks after commits: Celery must know the broker here too.
    from plugin.tasks import configure_celery

    configure_celery(envol_context(state.app).settings.broker_url)


def _tokens(found: Integration, command: Any) -> list[str]:
    """The tokens Mattermost gave for this trigger: a token is bound to its command."""
    if not isinstance(command, str) or not command.startswith("/") or len(command) > 130:
        return []
    key = (id(found), command[1:])
    cached = _token_cache.get(key)
    now = time.monotonic()
    if cached and now - cached[0] < TOKEN_CACHE_SECONDS:
        return cached[1]
    with found.context.sessions() as session:
        tokens = known_tokens(session, command[1:])
    if len(_token_cache) > 1000:  # triggers are few; made-up ones must not grow the cache
        _token_cache.clear()
    _token_cache[key] = (now, tokens)
    return tokens


def clear_token_cache() -> None:
    _token_cache.clear()


def dispatch(found: Integration, invocation_words: list[str], invocation: Invocation) -> Reply:
    if not invocation_words:
        return Reply(help_text(invocation))
    registry = build_registry()
    command = registry.get(fold(invocation_words[0]))
    if command is None:
        return Reply(help_text(invocation, unknown=invocation_words[0][:40]))
    if command.admin_only and not found.is_admin(invocation.request.user_id):
        return Reply(invocation.say("admins_only"))
    args = tuple(invocation_words[1:])
    if command.name != "help" and len(args) == 1 and fold(args[0]) in HELP_WORDS:
        return Reply(
            command.usage_text(invocation.request.command.lstrip("/"), invocation.language)
        )
    return command.handler(Invocation(invocation.request, args, invocation.language, found))


@blueprint.post("/commands")
def slash_command() -> Any:
    found = integration()
    form = request.form
    if not command_token_matches(
        _tokens(found, form.get("command")), form.get("token"), request.headers.get("Authorization")
    ):
        raise RequestRejected("unknown slash command token", status=401)
    command_request = parse_command_form(form)
    language = found.language_of(command_request.user_id)
    words = command_request.words
    invocation = Invocation(command_request, tuple(words[1:]), language, found)
    reply = dispatch(found, words, invocation)
    # Only the command word: arguments may hold personal details, the form holds the token.
    log.info("slash command %s %s", command_request.command, fold(words[0])[:20] if words else "")
    return jsonify(reply.body())
