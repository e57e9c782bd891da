"""``/envol wave [name]`` (admins): the waves, or one wave with its survey results per cohort."""

from __future__ import annotations

from sqlalchemy import func, select

from plugin.cohorts.models import CohortMember, Wave
from plugin.surveys.service import results_per_cohort, survey_score_for_wave
from webhooks.commands.registry import Invocation, Reply, SubCommand

TEXTS = {
    "title": {"fr": "**Vagues**", "en": "**Waves**"},
    "none": {"fr": "Aucune vague n'est planifiée.", "en": "No wave is planned yet."},
    "unknown": {"fr": "Pas de vague nommée « {name} ».", "en": "No wave named “{name}”."},
    "line": {
        "fr": "- **{name}** : {status}, {members} personne(s), ouverte le {opened}, "
        "questionnaire {score}",
        "en": "- **{name}**: {status}, {members} people, opened {opened}, survey {score}",
    },
    "cohort": {
        "fr": "  - {cohort} : {respondents}/{members} réponses, score {score}",
        "en": "  - {cohort}: {respondents}/{members} responses, score {score}",
    },
}


def run(invocation: Invocation) -> Reply:
    name = invocation.rest
    with invocation.integration.context.sessions() as session:
        query = select(Wave).order_by(Wave.position, Wave.id)
        if name:
            query = query.where(func.lower(Wave.name) == name.lower())
        waves = list(session.scalars(query))
        if not waves:
            return Reply(
                invocation.say(TEXTS["unknown"], name=name)
                if name
                else invocation.say(TEXTS["none"])
            )
        lines = [invocation.say(TEXTS["title"])]
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
                    TEXTS["line"],
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
                        lines.append(
                            invocation.say(
                                TEXTS["cohort"],
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
    usage={"fr": "wave [nom]", "en": "wave [name]"},
    description={
        "fr": "l'état des vagues, ou d'une vague (administrateurs)",
        "en": "the state of the waves, or of one wave (admins)",
    },
    hint="[name]",
    handler=run,
    admin_only=True,
)
