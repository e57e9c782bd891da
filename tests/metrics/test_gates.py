"""The wave gate read from the snapshots: it flips from fail to pass as adoption grows."""

from __future__ import annotations

from plugin.cohorts.gates import evaluate_gate
from plugin.metrics.gates import MeasuredWave, MetricsGateMeasures, explain_gate
from plugin.metrics.service import take_snapshot
from plugin.people.models import Person
from plugin.surveys.models import SurveyResponse
from tests.metrics.scenario import first_days
from tests.metrics.world import LaunchWorld


def _answer(world: LaunchWorld, person: Person, wave_key: str, score: int) -> None:
    user_id = world.simulation.journal[person.id].user_id
    assert user_id is not None
    wave_id = world.waves[wave_key].id
    world.session.add(
        SurveyResponse(
            user_id=user_id,
            person_id=person.id,
            wave_id=wave_id,
            wave_key=wave_id,
            why_network=score,
            what_for_me=score,
            how_to_use=score,
            what_expected=score,
        )
    )
    world.session.flush()


def _failing(world: LaunchWorld) -> set[str]:
    result = evaluate_gate(
        world.session, world.waves["rest"], world.settings, MetricsGateMeasures()
    )
    return {c.criterion.key for c in result.criteria if not c.passed}


def test_gate_flips_from_fail_to_pass_when_adoption_crosses_the_thresholds(
    world: LaunchWorld,
) -> None:
    people = world.people
    first_days(world)
    for index in (0, 1, 2):
        _answer(world, people[index], "managers", 4)
    for index in (6, 8):
        _answer(world, people[index], "pilot", 3)
    world.advance(1 / 24)
    take_snapshot(world.session, world.mm, world.settings)

    # The pilot has 4 complete profiles out of 9 who joined (44 % < 60 %) and a survey score of
    # 3.0 (< 3.5); activation (75 %, 83 %) and weekly activity (100 %) hold.
    assert _failing(world) == {"profile_complete_rate", "survey_score"}

    world.advance(3)
    for index in (7, 9, 11):
        world.simulation.complete_profile(people[index])
    for index in (10, 12, 13):
        _answer(world, people[index], "pilot", 5)
    world.advance(1)
    take_snapshot(world.session, world.mm, world.settings)

    # 7 of 9 profiles complete (78 %), survey (3+3+5+5+5)/5 = 4.2: the gate now holds.
    assert _failing(world) == set()
    explanation = explain_gate(world.session, world.waves["rest"], world.settings)
    assert explanation.result.passed
    # The criterion is now decided by wave 0 (3 of 5, 60 %), which did not move...
    deciding = next(
        c for c in explanation.result.criteria if c.criterion.key == "profile_complete_rate"
    )
    assert deciding.worst_wave == "Vague 0"
    assert explanation.trends["profile_complete_rate"].describe("%").startswith("→ +0.0 pts")
    # ...while the pilot caught up: its trend shows it.
    pilot = MetricsGateMeasures().measure_wave(world.session, world.waves["pilot"].id)
    assert isinstance(pilot, MeasuredWave)
    profile = pilot.trends["profile_complete_rate"]
    assert profile.before is not None and profile.now is not None
    assert round(profile.before) == 44 and round(profile.now) == 78
    assert profile.describe("%") == "↗ +33.3 pts since 2027-01-15"


def test_a_wave_never_snapshotted_is_measured_from_the_roster(world: LaunchWorld) -> None:
    first_days(world)
    measured = MetricsGateMeasures().measure_wave(world.session, world.waves["pilot"].id)
    assert not isinstance(measured, MeasuredWave)
    assert measured.weekly_active_rate is None  # not measured yet: the gate says so
    world.advance(1 / 24)
    take_snapshot(world.session, world.mm, world.settings)
    measured = MetricsGateMeasures().measure_wave(world.session, world.waves["pilot"].id)
    assert isinstance(measured, MeasuredWave)
    assert measured.activation_rate == 75.0
    assert measured.weekly_active_rate == 100.0
