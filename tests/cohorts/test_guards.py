"""The guard rails of a wave launch: order, date, announcement, preflight, unmeasured gates."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.models import AuditEvent
from plugin.cohorts.gates import evaluate_gate
from plugin.cohorts.guards import LaunchFacts, RefusalCode, WaveRefused, check_wave_can_open
from plugin.cohorts.models import WaveStatus
from plugin.cohorts.service import MANAGERS_CHAMPIONS, PILOT, wave_by_name
from plugin.cohorts.views import gate_verdict
from plugin.settings import RuntimeSettings
from plugin.typography import NBSP
from tests.cohorts.conftest import READY
from tests.cohorts.test_waves import GOOD, KnownMeasures, launch_wave, plan

MEASURED = KnownMeasures({MANAGERS_CHAMPIONS: GOOD})


def codes(session: Session, name: str, settings: RuntimeSettings, facts: LaunchFacts | None,
          **options: str) -> list[RefusalCode]:  # fmt: skip
    wave = wave_by_name(session, name)
    check = check_wave_can_open(session, wave, settings, facts, measures=MEASURED, **options)
    return [refusal.code for refusal in check.refusals]


def test_a_wave_waits_for_the_waves_before_it_and_its_planned_date(
    roster_120: Session, settings: RuntimeSettings, frozen_clock: clock.FrozenClock
) -> None:
    plan(roster_120, settings)  # wave 0 on 2027-02-15, the pilot on launch day 2027-03-01
    frozen_clock.set(dt.datetime(2027, 1, 15, 9, 0, tzinfo=dt.UTC))

    assert codes(roster_120, MANAGERS_CHAMPIONS, settings, READY) == [
        RefusalCode.BEFORE_PLANNED_DATE
    ]
    assert codes(roster_120, PILOT, settings, READY) == [
        RefusalCode.EARLIER_WAVE_PLANNED,
        RefusalCode.BEFORE_PLANNED_DATE,
        RefusalCode.GATE_FAILS,  # wave 0 has not opened: its measures do not exist
    ]
    with pytest.raises(WaveRefused) as refused:
        launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="t", measures=MEASURED)
    assert "planned for 15 February 2027 (31 days from now)" in refused.value.problems[0]
    assert wave_by_name(roster_120, MANAGERS_CHAMPIONS).status == WaveStatus.PLANNED

    frozen_clock.set(dt.datetime(2027, 2, 15, 9, 0, tzinfo=dt.UTC))
    assert launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="t", measures=MEASURED)
    assert codes(roster_120, PILOT, settings, READY) == [RefusalCode.BEFORE_PLANNED_DATE]
    frozen_clock.set(dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC))
    assert codes(roster_120, PILOT, settings, READY) == []


REFUSED_FACTS = [
    (dataclasses.replace(READY, announcement_sent_at=None),
     RefusalCode.ANNOUNCEMENT_NOT_SENT, "announcement (step annonce-pdg) has not gone out"),
    (dataclasses.replace(READY, announcement_step=""),
     RefusalCode.NO_ANNOUNCEMENT_STEP, "has no official announcement step"),
    (dataclasses.replace(READY, preflight_blockers=("Bot account: enable bot accounts",)),
     RefusalCode.PREFLIGHT_BLOCKED, "blocking problem (Bot account: enable bot accounts)"),
    (dataclasses.replace(READY, preflight_ran=False),
     RefusalCode.PREFLIGHT_NOT_RUN, "Preflight could not run"),
]  # fmt: skip


@pytest.mark.usefixtures("late_clock")
def test_no_wave_opens_before_the_announcement_or_with_a_blocking_preflight_even_forced(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    plan(roster_120, settings)

    for facts, expected, words in REFUSED_FACTS:
        with pytest.raises(WaveRefused) as refused:
            launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="t", measures=MEASURED,
                        facts=facts, force_reason="the committee wants it now")  # fmt: skip

        assert [r.code for r in refused.value.check.refusals] == [expected]
        assert words in refused.value.problems[0]
    assert wave_by_name(roster_120, MANAGERS_CHAMPIONS).status == WaveStatus.PLANNED


@pytest.mark.usefixtures("late_clock")
def test_without_facts_nothing_opens(roster_120: Session, settings: RuntimeSettings) -> None:
    plan(roster_120, settings)

    assert codes(roster_120, MANAGERS_CHAMPIONS, settings, None) == [
        RefusalCode.NO_ANNOUNCEMENT_STEP,
        RefusalCode.PREFLIGHT_NOT_RUN,
    ]


def test_force_lifts_the_date_and_order_only_and_is_audited(
    roster_120: Session, settings: RuntimeSettings, frozen_clock: clock.FrozenClock
) -> None:
    plan(roster_120, settings)
    frozen_clock.set(dt.datetime(2027, 1, 15, 9, 0, tzinfo=dt.UTC))

    # The pilot before wave 0 and a month early: the gate still says no (nothing measured).
    assert codes(roster_120, PILOT, settings, READY, force_reason="  ") == [
        RefusalCode.EARLIER_WAVE_PLANNED,
        RefusalCode.BEFORE_PLANNED_DATE,
        RefusalCode.GATE_FAILS,
    ]
    assert codes(roster_120, PILOT, settings, READY, force_reason="CEO's request") == [
        RefusalCode.GATE_FAILS
    ]
    result = launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="cli:anna",
                         measures=MEASURED, force_reason="training moved earlier")  # fmt: skip

    assert result.opened_now and result.check is not None
    assert [r.code for r in result.check.forced] == [RefusalCode.BEFORE_PLANNED_DATE]
    event = roster_120.scalar(select(AuditEvent).where(AuditEvent.action == "wave.forced"))
    assert event is not None
    assert (event.actor, event.reason) == ("cli:anna", "training moved earlier")
    assert event.details["rules"] == ["before_planned_date"]


def test_refusals_speak_french_too(
    roster_120: Session, settings: RuntimeSettings, frozen_clock: clock.FrozenClock
) -> None:
    plan(roster_120, settings)
    frozen_clock.set(dt.datetime(2027, 1, 15, 9, 0, tzinfo=dt.UTC))

    with pytest.raises(WaveRefused) as refused:
        launch_wave(roster_120, PILOT, settings, actor="t", measures=MEASURED,
                    facts=LaunchFacts.unknown(), language="fr")  # fmt: skip

    assert str(refused.value) == "la vague pilote ne peut pas ouvrir maintenant (5 raisons)."
    assert refused.value.problems[0].startswith(
        f"Les vagues précédentes ne sont pas encore ouvertes (managers-champions){NBSP}: ouvrez"
    )
    assert "prévue le 1er mars 2027" in refused.value.problems[1]


@pytest.mark.usefixtures("late_clock")
def test_a_criterion_without_a_measure_is_not_measured_never_a_pass(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    plan(roster_120, settings)

    # Before wave 0 opens, the pilot's gate has nothing measured: it does not pass.
    gate = evaluate_gate(roster_120, wave_by_name(roster_120, PILOT), settings, MEASURED)
    assert not gate.passed and gate_verdict(gate, language="en") == "[yellow]not measured[/]"
    assert {r.state for r in gate.criteria} == {"not_measured"}
    assert all(r.note.startswith("not measured yet (managers-champions") for r in gate.criteria)
    # The very first wave has nothing before it: no criterion applies.
    first = evaluate_gate(roster_120, wave_by_name(roster_120, MANAGERS_CHAMPIONS), settings)
    assert first.passed and {r.state for r in first.criteria} == {"first_wave"}

    launch_wave(roster_120, MANAGERS_CHAMPIONS, settings, actor="t", measures=MEASURED)
    # Wave 0 opened but the pilot has not: the next general wave is still not measured.
    later = evaluate_gate(roster_120, wave_by_name(roster_120, "vague-1"), settings, MEASURED)
    assert not later.passed
    assert all("pilote" in r.note for r in later.criteria if r.state == "not_measured")
