"""``/envol idea <text>``: an improvement idea, straight to the ideas channel for votes."""

from __future__ import annotations

from plugin.errors import EnvolError
from plugin.support import service
from plugin.support.models import TicketCategory
from webhooks.commands.registry import Invocation, Reply, SubCommand
from webhooks.commands.support import open_support_dialog

TEXTS = {
    "posted": {
        "fr": "Merci ! Votre idée n°{id} part dans ~{channel}, où chacun pourra voter.",
        "en": "Thank you! Your idea #{id} goes to ~{channel}, where everyone can vote.",
    },
    "short": {
        "fr": "Décrivez votre idée en au moins {n} caractères.",
        "en": "Describe your idea in at least {n} characters.",
    },
}


def run(invocation: Invocation) -> Reply:
    text = invocation.rest
    if not text:
        # No text: the dialog, with the category already on "idea".
        return open_support_dialog(invocation, TicketCategory.IDEA)
    if len(text) < service.MIN_DESCRIPTION:
        return Reply(invocation.say(TEXTS["short"], n=service.MIN_DESCRIPTION))
    integration = invocation.integration
    try:
        with integration.context.sessions.begin() as session:
            outcome = service.submit_request(
                session,
                user_id=invocation.request.user_id,
                category=TicketCategory.IDEA,
                description=text,
                language=invocation.language,
            )
            ticket_id = outcome.ticket.id
    except EnvolError as error:
        return Reply(str(error))
    return Reply(
        invocation.say(TEXTS["posted"], id=ticket_id, channel=integration.runtime.ideas_channel)
    )


COMMAND = SubCommand(
    name="idea",
    aliases=("idee",),
    usage={"fr": "idea <votre idée>", "en": "idea <your idea>"},
    description={
        "fr": "proposer une amélioration, soumise aux votes",
        "en": "suggest an improvement, open to votes",
    },
    hint="<idea>",
    handler=run,
)
