"""The launch team's approval of the pilot: recorded, withdrawn when the members change."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.app import EnvolContext
from plugin.audit.models import AuditEvent
from plugin.cohorts.approval import approve_pilot, current_pilot, pilot_members
from plugin.cohorts.service import (
    PILOT,
    add_to_cohort,
    apply_plan,
    build_plan,
    override_gate,
    remove_from_cohort,
)
from plugin.db import transaction
from plugin.errors import EnvolError
from plugin.people.models import Person
from plugin.settings import RuntimeSettings
from tests.cohorts.conftest import import_fake_roster
from tests.cohorts.test_waves import launch_wave


def _plan(session: Session, settings: RuntimeSettings, seed: int = 1) -> None:
    plan = build_plan(session, settings, percent=10, seed=seed, general_waves=2)
    apply_plan(session, plan, actor="test", replace=True)


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_pilot_view_explains_each_stratum(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    _plan(roster_120, settings)

    pilot = current_pilot(roster_120)

    assert pilot is not None and not pilot.approved and not pilot.opened
    assert pilot.population == 120
    assert pilot.selected == sum(s.selected for s in pilot.strata) == 12
    assert sum(s.population for s in pilot.strata) == 120
    assert {reason for s in pilot.strata for reason in s.reasons} <= {"must include", "drawn"}
    assert len(pilot_members(roster_120)) == 12


def test_approval_is_recorded_once_and_withdrawn_by_an_edit(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    with pytest.raises(EnvolError, match="no pilot is planned yet"):
        approve_pilot(roster_120, actor="@claire")
    _plan(roster_120, settings)

    assert approve_pilot(roster_120, actor="@claire", note="vu en comité") is True
    assert approve_pilot(roster_120, actor="@claire") is False
    pilot = current_pilot(roster_120)
    assert pilot is not None and pilot.approved and pilot.cohort.approved_by == "@claire"

    outsider = roster_120.scalars(select(Person).order_by(Person.id.desc())).first()
    assert outsider is not None
    add_to_cohort(roster_120, PILOT, outsider.email, actor="@dan", reason="volontaire")

    pilot = current_pilot(roster_120)
    assert pilot is not None and not pilot.approved and pilot.cohort.approved_by is None
    assert _actions(roster_120)[-3:] == [
        "pilot.approved", "pilot.approval_withdrawn", "cohort.member_added",
    ]  # fmt: skip
    approve_pilot(roster_120, actor="@claire")
    remove_from_cohort(roster_120, PILOT, outsider.email, actor="@dan")
    pilot = current_pilot(roster_120)
    assert pilot is not None and not pilot.approved


@pytest.mark.usefixtures("late_clock")
def test_nothing_to_approve_once_the_pilot_opened(
    roster_120: Session, settings: RuntimeSettings
) -> None:
    _plan(roster_120, settings)
    launch_wave(roster_120, "managers-champions", settings, actor="test")
    override_gate(roster_120, PILOT, reason="comité : on y va", actor="test")
    launch_wave(roster_120, PILOT, settings, actor="test")

    with pytest.raises(EnvolError, match="already opened"):
        approve_pilot(roster_120, actor="@claire")


def test_cohorts_approve_command(envol_context: EnvolContext, tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    from plugin.cli import root

    with transaction(envol_context.sessions) as session:
        import_fake_roster(session, tmp_path, 60)
        _plan(session, settings)
    runner = CliRunner()

    first = runner.invoke(root, ["--lang", "fr", "cohorts", "approve", "--note", "comité du 12"])
    again = runner.invoke(root, ["--lang", "en", "cohorts", "approve"])

    assert first.exit_code == 0 and "pilote approuvé" in first.output, first.output
    assert again.exit_code == 0 and "already approved" in again.output
    with envol_context.sessions() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "pilot.approved"))
        assert event is not None and event.reason == "comité du 12"
        assert event.actor.startswith("cli")
