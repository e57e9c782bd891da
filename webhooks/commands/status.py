"""``/envol status`` (admins): the launch at a glance, from Envol's own records."""

from __future__ import annotations

from plugin.metrics.status import launch_status
from webhooks.commands.base import Invocation, Reply, SubCommand, in_every_language


def run(invocation: Invocation) -> Reply:
    with invocation.integration.context.sessions() as session:
        status = launch_status(session)
    summary = ", ".join(f"{n} {name}" for name, n in sorted(status.waves.items()))
    score = status.survey.score
    lines = [
        invocation.say("status.title"),
        invocation.say(
            "status.people", active=status.active, joined=status.joined, rate=status.join_rate
        ),
        invocation.say("status.waves", summary=summary or invocation.say("status.none")),
        invocation.say(
            "status.support",
            open=status.tickets.waiting,
            answered=status.tickets.answered,
            resolved=status.tickets.resolved,
            self_served=status.tickets.self_served,
        ),
        invocation.say(
            "status.survey",
            count=status.survey.responses,
            score="–" if score is None else f"{score}/5",
        ),
    ]
    return Reply("\n".join(lines))


COMMAND = SubCommand(
    name="status",
    aliases=("statut", "etat"),
    usage=in_every_language("status.usage"),
    description=in_every_language("status.description"),
    hint="",
    handler=run,
    admin_only=True,
)
