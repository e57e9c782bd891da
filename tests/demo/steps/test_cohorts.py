from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, select

from plugin import clock
from plugin.app import EnvolContext
from plugin.cohorts.models import WaveHandoff
from plugin.demo.run import DemoRun
from plugin.demo.steps.cohorts import step_people_and_waves
from plugin.people.models import Person


def test_demo_step_imports_plans_and_holds_wave_zero_until_the_announcement(
    envol_context: EnvolContext, tmp_path: Path
) -> None:
    output = io.StringIO()
    run = DemoRun(context=envol_context, console=Console(file=output, width=160), workdir=tmp_path,
                  people=300, seed=7, faults=False, started=clock.now())  # fmt: skip

    step_people_and_waves(run)

    text = output.getvalue()
    assert "300 people imported" in text and "Pilot: 30 of 300 people" in text
    assert "MaxUsersPerTeam" in text
    # The guard rails: wave 0 opens in the launch step, after the CEO's announcement.
    assert "wave managers-champions cannot open yet" in text
    assert "official announcement" in text
    assert run.state["waves"] == ["managers-champions", "pilote", "vague-1", "vague-2", "vague-3"]
    with envol_context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 300
        assert session.scalar(select(func.count()).select_from(WaveHandoff)) == 0
