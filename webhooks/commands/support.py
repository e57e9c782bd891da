"""``/envol support [description]``: opens the support dialog (difficulty, question, idea)."""

from __future__ import annotations

import logging

from plugin.errors import EnvolError
from plugin.support.dialogs import support_dialog
from plugin.support.models import TicketCategory
from webhooks.commands.registry import Invocation, Reply, SubCommand

log = logging.getLogger(__name__)

TEXTS = {
    "no_trigger": {
        "fr": "Impossible d'ouvrir le formulaire depuis ici ; réessayez `/envol support`.",
        "en": "The form cannot be opened from here; try `/envol support` again.",
    },
    "failed": {
        "fr": "Le formulaire n'a pas pu s'ouvrir (Mattermost n'a pas répondu) ; réessayez.",
        "en": "The form could not open (Mattermost did not answer); please try again.",
    },
}


def open_support_dialog(invocation: Invocation, category: TicketCategory | None) -> Reply:
    """Open the dialog first thing: the trigger id expires within seconds."""
    request = invocation.request
    if not request.trigger_id:
        return Reply(invocation.say(TEXTS["no_trigger"]))
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
        return Reply(invocation.say(TEXTS["failed"]))
    return Reply()


def run(invocation: Invocation) -> Reply:
    return open_support_dialog(invocation, None)


COMMAND = SubCommand(
    name="support",
    aliases=("aide-moi", "question"),
    usage={"fr": "support [description]", "en": "support [description]"},
    description={
        "fr": "signaler une difficulté, poser une question ou proposer une idée",
        "en": "report a difficulty, ask a question or suggest an idea",
    },
    hint="[description]",
    handler=run,
)
