from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.audit.models import AuditEvent
from plugin.cohorts.gates import RosterGateMeasures, WaveMeasures, evaluate_gate
from plugin.cohorts.guards import RefusalCode, WaveRefused
from plugin.cohorts.models import CohortMember, Wave, WaveHandoff, WaveStatus
from plugin.cohorts.service import (
    MANAGERS_CHAMPIONS,
    PILOT,
    ServerLimits,
    add_to_cohort,
    apply_plan,
    build_plan,
    list_waves,
    override_gate,
    remove_from_cohort,
    wave_by_name,
)
from plugin.cohorts.service import launch_wave as launch_wave_alone
from plugin.errors import EnvolError
from plugin.invitations.service import plan_wave_invitations
from plugin.people.models import Person
from plugin.settings import RuntimeSettings
from tests.cohorts.conftest import READY

# A launch hands its people to the real invitation engine, as the CLI's does, once the
# announcement has gone out and preflight is clean, after every planned date.
launch_wave = partial(launch_wave_alone, plan_invitations=plan_wave_invitations, facts=READY)
pytestmark = pytest.mark.usefixtures("late_clock")


@dataclass
class KnownMeasures:
    """Gate measures given per wave name, as the metrics capability will provide them."""

    by_wave: dict[str, WaveMeasures] = field(default_factory=dict)

    def measure_wave(self, session: Session, wave_id: int) -> WaveMeasures:
        wave = session.get(Wave, wave_id)
        assert wave is not None
        return self.by_wave.get(wave.name, WaveMeasures())


GOOD = WaveMeasures(activation_rate=85, weekly_active_rate=60, profile_complete_rate=70,
                    survey_score=4.1)  # fmt: skip


def plan(session: Session, settings: RuntimeSettings, waves: int = 2) -> None:
    apply_plan(session, build_plan(session, settings, percent=10, seed=5, general_waves=waves),
               actor="test")  # fmt: skip


def test_plan_puts_managers_and_champions_first_then_the_pilot(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    plan(roster_120, settings)

    waves = roster_120.scalars(select(Wave).order_by(Wave.position)).all()
    assert [w.name for w in waves] == [MANAGERS_CHAMPIONS, PILOT, "vague-1", "vague-2"]
    assert "managers-champions" in waves[0].channels
    everyone = roster_120.scalar(select(func.count(func.distinct(CohortMember.person_id))))
    assert everyone == 120

    with pytest.raises(EnvolError, match="--replace"):
        plan(roster_120, settings)


def test_launch_is_idempotent_and_never_invites_anyone_twice(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    plan(roster_120, settings)
    measures = KnownMeasures({MANAGERS_CHAMPIONS: GOOD})

    first = launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="t", measures=measures)
    second = launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="t", measures=measures)
    pilot = launch_wave(roster_120, PILOT, settings, actor="t", measures=measures)

    assert first.opened_now and first.person_ids
    assert not second.changed and second.person_ids == []
    assert set(first.person_ids).isdisjoint(pilot.person_ids)
    assert pilot.already_in_earlier_wave > 0  # managers: in the pilot, invited with wave 0
    handoffs = roster_120.scalar(select(func.count()).select_from(WaveHandoff))
    people = roster_120.scalar(select(func.count(func.distinct(WaveHandoff.person_id))))
    assert handoffs == people == len(first.person_ids) + len(pilot.person_ids)
    launches = roster_120.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("wave.%"))
    ).all()
    assert launches == ["wave.launched", "wave.launched"]


def test_dry_run_launch_changes_nothing(roster_120: Session, settings: RuntimeSettings) -> None:
    plan(roster_120, settings)

    result = launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="t", dry_run=True)

    assert result.person_ids
    assert wave_by_name(roster_120, MANAGERS_CHAMPIONS).status == WaveStatus.PLANNED
    assert roster_120.scalar(select(func.count()).select_from(WaveHandoff)) == 0


@pytest.mark.parametrize(
    ("measured", "failing"),
    [
        (GOOD, []),
        (WaveMeasures(69.9, 60, 70, 4.1), ["activation_rate"]),
        (WaveMeasures(85, 49, 70, 4.1), ["weekly_active_rate"]),
        (WaveMeasures(85, 60, 59, 4.1), ["profile_complete_rate"]),
        (WaveMeasures(85, 60, 70, 3.4), ["survey_score"]),
        (WaveMeasures(85, None, 70, None), ["weekly_active_rate", "survey_score"]),
    ],
)
def test_gate_criteria_pass_and_fail_on_their_thresholds(
    roster_120: Session, settings: RuntimeSettings, measured: WaveMeasures, failing: list[str]
) -> None:
    plan(roster_120, settings)
    measures = KnownMeasures({MANAGERS_CHAMPIONS: measured})
    launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="t", measures=measures)

    gate = evaluate_gate(roster_120, wave_by_name(roster_120, PILOT), settings, measures)

    assert [r.criterion.key for r in gate.criteria if not r.passed] == failing
    assert gate.passed == (not failing)
    for result in gate.criteria:
        if result.criterion.key in failing and result.measured is None:
            assert result.note.startswith("not measured yet")
    if failing:
        with pytest.raises(WaveRefused, match="wave pilote cannot open") as refused:
            launch_wave(roster_120, PILOT, settings, actor="t", measures=measures)
        assert [r.code for r in refused.value.check.refusals] == [RefusalCode.GATE_FAILS]
    else:
        assert launch_wave(roster_120, PILOT, settings, actor="t", measures=measures).opened_now


def test_gate_holds_only_when_every_previous_wave_holds(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    plan(roster_120, settings)
    measures = KnownMeasures({MANAGERS_CHAMPIONS: GOOD, PILOT: GOOD})
    launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="t", measures=measures)
    launch_wave(roster_120, PILOT, settings, actor="t", measures=measures)
    measures.by_wave[MANAGERS_CHAMPIONS] = WaveMeasures(50, 60, 70, 4.1)

    gate = evaluate_gate(roster_120, wave_by_name(roster_120, "vague-1"), settings, measures)

    failing = [r for r in gate.criteria if not r.passed]
    assert [(r.criterion.key, r.worst_wave, r.measured) for r in failing] == [
        ("activation_rate", MANAGERS_CHAMPIONS, 50.0)
    ]


def test_a_threshold_of_zero_is_not_required(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    plan(roster_120, settings)
    relaxed = settings.model_copy(update={"gate_weekly_active_rate": 0})
    measures = KnownMeasures({MANAGERS_CHAMPIONS: WaveMeasures(85, None, 70, 4.1)})
    launch_wave(roster_120, MANAGERS_CHAMPIONS, relaxed, actor="t", measures=measures)

    assert evaluate_gate(roster_120, wave_by_name(roster_120, PILOT), relaxed, measures).passed


def test_roster_measures_report_activation_and_say_the_rest_is_missing(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    plan(roster_120, settings)
    launched = launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="t")
    joined = launched.person_ids[: len(launched.person_ids) // 2]
    for index, person_id in enumerate(joined):
        person = roster_120.get(Person, person_id)
        assert person is not None
        person.mattermost_user_id = f"user{index:022d}"
    roster_120.flush()

    gate = evaluate_gate(
        roster_120, wave_by_name(roster_120, PILOT), settings, RosterGateMeasures()
    )

    activation = gate.criteria[0]
    assert activation.measured == pytest.approx(100 * len(joined) / len(launched.person_ids))
    assert gate.missing == ["weekly active rate", "profile completeness", "launch-survey score"]


def test_override_needs_a_reason_and_is_audited(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    plan(roster_120, settings)
    launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="t", measures=KnownMeasures())

    for empty in ("", "   "):
        with pytest.raises(EnvolError, match="needs a reason"):
            override_gate(roster_120, PILOT, reason=empty, actor="admin")
    with pytest.raises(WaveRefused, match="cannot open"):
        launch_wave(roster_120, PILOT, settings, actor="t", measures=KnownMeasures())

    override_gate(roster_120, PILOT, reason="committee vote of 20 Feb", actor="admin")
    result = launch_wave(roster_120, PILOT, settings, actor="t", measures=KnownMeasures())

    assert result.opened_now and result.gate is not None and not result.gate.passed
    event = roster_120.scalar(select(AuditEvent).where(AuditEvent.action == "wave.gate_overridden"))
    assert event is not None and (event.actor, event.reason) == (
        "admin",
        "committee vote of 20 Feb",
    )


def test_waves_are_checked_against_the_server_limits(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    plan(roster_120, settings)

    summaries = list_waves(roster_120, ServerLimits(max_users_per_team=50, user_cap=100,
                                                    users_already_on_server=5))  # fmt: skip

    sizes = [s.team_size_after for s in summaries]
    assert sizes == sorted(sizes) and sizes[-1] == 120
    for summary in summaries:
        assert any("MaxUsersPerTeam" in str(w) for w in summary.warnings) == (
            summary.team_size_after > 50
        )
        assert any("user cap" in str(w) for w in summary.warnings) == (
            summary.team_size_after + 5 > 100
        )
    assert not list_waves(roster_120, ServerLimits())[-1].warnings


def test_manual_cohort_edits_are_audited(roster_120: Session, settings: RuntimeSettings) -> None:
    plan(roster_120, settings)
    person = roster_120.scalars(
        select(Person).where(~Person.id.in_(
            select(CohortMember.person_id).join(Wave, Wave.cohort_id == CohortMember.cohort_id)
            .where(Wave.name == PILOT)
        ))
    ).first()  # fmt: skip
    assert person is not None

    assert add_to_cohort(roster_120, PILOT, person.email.upper(), actor="admin", reason="asked")
    assert not add_to_cohort(roster_120, PILOT, person.email, actor="admin")
    assert remove_from_cohort(roster_120, PILOT, person.email, actor="admin", reason="changed mind")
    with pytest.raises(EnvolError, match="not in the roster"):
        add_to_cohort(roster_120, PILOT, "nobody@nowhere.example", actor="admin")

    events = roster_120.scalars(
        select(AuditEvent).where(AuditEvent.action.like("cohort.member_%")).order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.reason, e.details["person_id"]) for e in events] == [
        ("cohort.member_added", "asked", person.id),
        ("cohort.member_removed", "changed mind", person.id),
    ]


def test_a_launch_hands_its_people_to_the_invitation_planner_in_its_transaction(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    plan(roster_120, settings)
    planned: list[tuple[int, list[int]]] = []

    def planner(session: Session, wave_id: int) -> int:
        handed = session.scalars(
            select(WaveHandoff.person_id).where(WaveHandoff.wave_id == wave_id)
        )
        planned.append((wave_id, sorted(handed)))
        return len(planned[-1][1])

    result = launch_wave_alone(
        roster_120, MANAGERS_CHAMPIONS, settings, actor="t", plan_invitations=planner, facts=READY
    )
    again = launch_wave_alone(
        roster_120, MANAGERS_CHAMPIONS, settings, actor="t", plan_invitations=planner, facts=READY
    )

    wave = wave_by_name(roster_120, MANAGERS_CHAMPIONS)
    assert planned == [(wave.id, sorted(result.person_ids))]  # the hand-off rows, already there
    assert not again.changed  # nothing new to hand over: the planner is not called again
