"""``/envol status`` (admins): the launch at a glance, from Envol's own records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.cohorts.models import Wave
from plugin.people.models import Person, PersonStatus
from plugin.support.models import SupportTicket, TicketStatus
from plugin.surveys.models import SurveyResponse
from webhooks.commands.base import Invocation, Reply, SubCommand, in_every_language


def launch_figures(session: Session) -> dict[str, object]:
    active = (
        session.scalar(select(func.count(Person.id)).where(Person.status == PersonStatus.ACTIVE))
        or 0
    )
    joined = (
        session.scalar(
            select(func.count(Person.id)).where(
                Person.status == PersonStatus.ACTIVE, Person.mattermost_user_id.is_not(None)
            )
        )
        or 0
    )
    waves: dict[Any, int] = {
        status: count
        for status, count in session.execute(
            select(Wave.status, func.count(Wave.id)).group_by(Wave.status)
        ).tuples()
    }
    tickets: dict[Any, int] = {
        status: count
        for status, count in session.execute(
            select(SupportTicket.status, func.count(SupportTicket.id)).group_by(
                SupportTicket.status
            )
        ).tuples()
    }
    count, total = session.execute(
        select(
            func.count(SurveyResponse.id),
            func.avg(
                SurveyResponse.why_network
                + SurveyResponse.what_for_me
                + SurveyResponse.how_to_use
                + SurveyResponse.what_expected
            ),
        )
    ).one()
    return {
        "active": active,
        "joined": joined,
        "rate": round(100 * joined / active) if active else 0,
        "waves": {str(getattr(k, "value", k)): v for k, v in waves.items()},
        "tickets": {str(getattr(k, "value", k)): v for k, v in tickets.items()},
        "survey_count": count or 0,
        "survey_score": round(float(total) / 4, 2) if count else None,
    }


def run(invocation: Invocation) -> Reply:
    with invocation.integration.context.sessions() as session:
        figures = launch_figures(session)
    waves = figures["waves"]
    tickets = figures["tickets"]
    assert isinstance(waves, dict) and isinstance(tickets, dict)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(waves.items()))
    score = figures["survey_score"]
    lines = [
        invocation.say("status.title"),
        invocation.say(
            "status.people",
            active=figures["active"],
            joined=figures["joined"],
            rate=figures["rate"],
        ),
        invocation.say("status.waves", summary=summary or invocation.say("status.none")),
        invocation.say(
            "status.support",
            open=tickets.get(TicketStatus.OPEN.value, 0) + tickets.get(TicketStatus.TAKEN.value, 0),
            answered=tickets.get(TicketStatus.ANSWERED.value, 0),
            resolved=tickets.get(TicketStatus.RESOLVED.value, 0),
            self_served=tickets.get(TicketStatus.SELF_SERVED.value, 0),
        ),
        invocation.say(
            "status.survey",
            count=figures["survey_count"],
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
