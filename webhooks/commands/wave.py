"""``/envol wave [name]`` (admins): the waves, or one wave with its survey results per cohort."""

from __future__ import annotations

from plugin.metrics.status import waves_overview
from webhooks.commands.base import Invocation, Reply, SubCommand, in_every_language


def run(invocation: Invocation) -> Reply:
    name = invocation.rest
    with invocation.integration.context.sessions() as session:
        waves = waves_overview(session, name)
    if not waves:
        return Reply(
            invocation.say("wave.unknown", name=name) if name else invocation.say("wave.none")
        )
    lines = [invocation.say("wave.title")]
    for wave in waves:
        score = wave.survey_score
        lines.append(
            invocation.say(
                "wave.line",
                name=wave.name,
                status=wave.status,
                members=wave.members,
                opened=wave.opened.isoformat() if wave.opened else "–",
                score="–" if score is None else f"{score}/5",
            )
        )
        for result in wave.cohorts:
            # The per-cohort lines nest under their wave's line.
            lines.append(
                "  "
                + invocation.say(
                    "wave.cohort",
                    cohort=result.cohort_name,
                    respondents=result.respondents,
                    members=result.members,
                    score=f"{result.score}/5",
                )
            )
    return Reply("\n".join(lines))


COMMAND = SubCommand(
    name="wave",
    aliases=("vague",),
    usage=in_every_language("wave.usage"),
    description=in_every_language("wave.description"),
    hint="[name]",
    handler=run,
    admin_only=True,
)
