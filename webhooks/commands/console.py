"""``/envol console`` (and ``/aide console``): a single-use sign-in link to the launch console,
by DM from the bot, for system admins, the launch team and the committee channel's members;
a polite refusal for anyone else."""

from __future__ import annotations

import logging

from plugin.console.roles import ConsoleRole, role_of
from plugin.console.signin import DEFAULT_LINK_MINUTES, signin_link
from plugin.errors import EnvolError
from webhooks.commands.base import Invocation, Reply, SubCommand, in_every_language

log = logging.getLogger(__name__)


def run(invocation: Invocation) -> Reply:
    found = invocation.integration
    user_id = invocation.request.user_id
    user = found.users.get(user_id, fresh=True)
    try:
        role = role_of(found.client, found.runtime, user) if user else None
    except EnvolError as error:
        log.warning("console: could not read the role of a user: %s", error)
        return Reply(invocation.say("console.failed"))
    if user is None or role is None:
        return Reply(invocation.say("console.refused", channel=found.runtime.committee_channel))
    link = signin_link(found.signer, found.public_url, user_id, str(user.get("username") or ""))
    what = (
        invocation.say("console.role_admin")
        if role == ConsoleRole.ADMIN
        else invocation.say("console.role_viewer")
    )
    try:
        found.client.send_direct_message(
            user_id,
            invocation.say("console.dm", link=link, minutes=DEFAULT_LINK_MINUTES, role=what),
        )
    except EnvolError as error:
        log.warning("console: could not send the sign-in DM: %s", error)
        return Reply(invocation.say("console.failed"))
    return Reply(
        invocation.say("console.sent", minutes=DEFAULT_LINK_MINUTES, bot=found.runtime.bot_username)
        + ("" if role == ConsoleRole.ADMIN else " " + invocation.say("console.viewer_note"))
    )


COMMAND = SubCommand(
    name="console",
    aliases=(),
    usage=in_every_language("console.usage"),
    description=in_every_language("console.description"),
    hint="",
    handler=run,
)
