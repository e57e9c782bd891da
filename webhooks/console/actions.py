"""``POST /console/actions/open``: the button of a committee post ("open in the console").

Mattermost signs nothing it forwards, so the ``user_id`` of a click cannot be trusted with a
sign-in link in the answer: the answer only opens the console page (``goto_location``), and
a person with a console role who has no session gets the sign-in link by DM, as with
``/envol console`` — a forged click can at most send someone their own link.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import jsonify, request

from plugin.console.decisions import OPEN_BUTTON_LIFETIME, OPEN_PURPOSE
from plugin.console.decisions import t as decision_text
from plugin.console.roles import role_of
from plugin.console.signin import DEFAULT_LINK_MINUTES, signin_link
from plugin.errors import EnvolError
from plugin.i18n import pick_language
from plugin.security.service import RequestRejected
from webhooks.answers import PayloadInvalid, refused
from webhooks.answers import t as answer_text
from webhooks.commands.base import t as command_text
from webhooks.commands.payloads import parse_action_json
from webhooks.console import blueprint
from webhooks.console.auth import found
from webhooks.console.signin import safe_next

log = logging.getLogger(__name__)


@blueprint.post("/actions/open")
def open_from_post() -> Any:
    where = found()
    try:
        action = parse_action_json(request.get_json(silent=True, force=True))
        data = where.signer.verify(
            action.signed, purpose=OPEN_PURPOSE, user_id=None, max_age=OPEN_BUTTON_LIFETIME
        )
    except (PayloadInvalid, RequestRejected) as error:
        log.info("console open button refused: %s", type(error).__name__)
        return refused(getattr(error, "status", 400))
    page = safe_next(str(data.get("page") or ""))
    user = where.users.get(action.user_id, fresh=True) or {}
    language = pick_language(str(user.get("locale") or ""), default=where.runtime.default_language)
    try:
        role = role_of(where.client, where.runtime, user) if user else None
    except EnvolError:
        role = None
    if role is None:
        return jsonify(
            {
                "ephemeral_text": command_text(
                    "console.refused", language, channel=where.runtime.committee_channel
                )
            }
        )
    link = signin_link(
        where.signer,
        where.public_url,
        action.user_id,
        str(user.get("username") or ""),
        next_page=page,
    )
    try:
        where.client.send_direct_message(
            action.user_id,
            decision_text("decision.signin_dm", language, link=link, minutes=DEFAULT_LINK_MINUTES),
        )
    except EnvolError as error:
        log.warning("console: could not DM a sign-in link: %s", error)
        return jsonify({"ephemeral_text": answer_text("refused.failed", language)})
    # Mattermost does not pass an action's ``goto_location`` on to the client
    # (``DoPostActionWithCookie`` returns only the trigger id): the link goes by DM.
    return jsonify({"ephemeral_text": decision_text("decision.signin_sent", language)})
