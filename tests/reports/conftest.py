"""The reports' fixture: a simulated launch with two snapshots, survey answers and requests."""

from __future__ import annotations

import pytest

from plugin.metrics.service import take_snapshot
from plugin.reports.data import ReportData, load_report_data
from plugin.support.models import SupportTicket, TicketCategory, TicketStatus
from plugin.surveys.models import SurveyResponse
from tests.metrics.scenario import first_days, ninth_day
from tests.metrics.world import LaunchWorld


@pytest.fixture
def reported(world: LaunchWorld) -> LaunchWorld:
    """Ten days of launch, two snapshots, survey answers (five in the pilot wave, one from the
    managers' wave: too few to show) and support requests."""
    first_days(world)
    for index, score in ((0, 4), (6, 2), (8, 3), (9, 2), (10, 3), (11, 2)):
        person = world.people[index]
        user_id = world.simulation.journal[person.id].user_id
        assert user_id is not None
        wave = world.waves["managers" if index < 6 else "pilot"]
        world.session.add(
            SurveyResponse(
                user_id=user_id,
                person_id=person.id,
                wave_id=wave.id,
                wave_key=wave.id,
                why_network=score + 1,
                what_for_me=score,
                how_to_use=score,
                what_expected=max(1, score - 1),
            )
        )
    for index, status in ((6, TicketStatus.OPEN), (8, TicketStatus.RESOLVED)):
        person = world.people[index]
        world.session.add(
            SupportTicket(
                requester_user_id=world.simulation.journal[person.id].user_id or "",
                person_id=person.id,
                category=TicketCategory.QUESTION,
                description="Comment ajouter ma photo ?",
                status=status,
            )
        )
    world.session.flush()
    world.advance(1 / 24)
    take_snapshot(world.session, world.mm, world.settings)
    world.advance(9)
    ninth_day(world)
    world.advance(1)
    take_snapshot(world.session, world.mm, world.settings)
    return world


def report_data(
    world: LaunchWorld, lang: str = "fr", *, manager_figures: bool = False
) -> ReportData:
    return load_report_data(
        world.session,
        company="Exemple SA",
        lang=lang,  # type: ignore[arg-type]
        manager_figures=manager_figures,
    )
