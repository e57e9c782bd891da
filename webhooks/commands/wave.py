"""``/envol wave [name]`` (admins): the waves, or one wave with its survey results per cohort."""

from __future__ import annotations

from sqlalchemy import func, select

from plugin.cohorts.models import CohortMember, Wave
from plugin.surveys.service import results_per_cohort, survey_score_for_wave
from webhooks.commands.base import Invocation, Reply, SubCommand, in_every_language


def run(invocation: Invocation) -> Reply:
    name = invocation.rest
    with invocation.integration.context.sessions() as session:
        query = select(Wave).order_by(Wave.position, Wave.id)
        if name:
            query = query.where(func.lower(Wave.name) == name.lower())
        waves = list(session.scalars(query))
        if not waves:
            return Reply(
                invocation.say("wave.unknown", name=name) if name else invocation.say("wave.none")
            )
        lines = [invocation.say("wave.title")]
        for wave in waves:
            members = (
                session.scalar(
                    select(func.count(CohortMember.id)).where(
                        CohortMember.cohort_id == wave.cohort_id
                    )
                )
                or 0
            )
            score = survey_score_for_wave(session, wave.id)
            lines.append(
                invocation.say(
                    "wave.line",
                    name=wave.name,
                    status=wave.status.value,
                    members=members,
                    opened=wave.opened_at.date().isoformat() if wave.opened_at else "–",
                    score="–" if score is None else f"{score}/5",
                )
            )
            if name:
                for result in results_per_cohort(session, wave.id):
                    if result.respondents:
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
