"""``/envol support [description]``: opens the support dialog (difficulty, question, idea)."""

from __future__ import annotations

import logging

from plugin.errors import EnvolError
from plugin.support.dialogs import support_dialog
from plugin.support.models import TicketCategory
from webhooks.commands.base import Invocation, Reply, SubCommand, in_every_language

log = logging.getLogger(__name__)


def open_support_dialog(invocation: Invocation, category: TicketCategory | None) -> Reply:
    """Open the dialog first thing: the trigger id expires within seconds."""
    request = invocation.request
    if not request.trigger_id:
        return Reply(invocation.say("support.no_trigger"))
    integration = invocation.integration
    dialog = support_dialog(
        integration.signer,
        request.user_id,
        invocation.language,
        category=category,
        description=invocation.rest,
    )
    try:
        integration.client.open_dialog(
            request.trigger_id, integration.url("dialogs/support"), dialog
        )
    except EnvolError as error:
        log.warning("support dialog not opened: %s", type(error).__name__)
        return Reply(invocation.say("support.failed"))
    return Reply()


def run(invocation: Invocation) -> Reply:
    return open_support_dialog(invocation, None)


COMMAND = SubCommand(
    name="support",
    aliases=("aide-moi", "question"),
    usage=in_every_language("support.usage"),
    description=in_every_language("support.description"),
    hint="[description]",
    handler=run,
)
