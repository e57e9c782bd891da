"""``/envol idea <text>``: an improvement idea, straight to the ideas channel for votes."""

from __future__ import annotations

from plugin.db import transaction
from plugin.errors import EnvolError
from plugin.support import service
from plugin.support.models import TicketCategory
from webhooks.commands.base import Invocation, Reply, SubCommand, in_every_language
from webhooks.commands.support import open_support_dialog


def run(invocation: Invocation) -> Reply:
    text = invocation.rest
    if not text:
        # No text: the dialog, with the category already on "idea".
        return open_support_dialog(invocation, TicketCategory.IDEA)
    if len(text) < service.MIN_DESCRIPTION:
        return Reply(invocation.say("idea.short", n=service.MIN_DESCRIPTION))
    integration = invocation.integration
    try:
        with transaction(integration.context.sessions) as session:
            outcome = service.submit_request(
                session,
                user_id=invocation.request.user_id,
                category=TicketCategory.IDEA,
                description=text,
                language=invocation.language,
            )
            ticket_id = outcome.ticket.id
    except EnvolError as error:
        return Reply(error.localized(invocation.language))
    return Reply(
        invocation.say("idea.posted", id=ticket_id, channel=integration.runtime.ideas_channel)
    )


COMMAND = SubCommand(
    name="idea",
    aliases=("idee",),
    usage=in_every_language("idea.usage"),
    description=in_every_language("idea.description"),
    hint="<idea>",
    handler=run,
)
