from __future__ import annotations

import io
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from sqlalchemy import func, select

from plugin import clock
from plugin.app import EnvolContext
from plugin.cohorts.models import Wave, WaveHandoff, WaveStatus
from plugin.demo.run import DemoRun
from plugin.demo.steps.cohorts import step_people_and_waves
from plugin.people.models import Person
from plugin.sandbox import Sandbox


def _run(context: EnvolContext, sandbox: Sandbox, workdir: Path, output: io.StringIO) -> DemoRun:
    context.settings = context.settings.model_copy(
        update={"mattermost_url": sandbox.url, "mattermost_token": SecretStr(sandbox.admin_token)}
    )
    return DemoRun(context=context, console=Console(file=output, width=160), workdir=workdir,
                   people=300, seed=7, faults=False, started=clock.now())  # fmt: skip


def test_demo_step_imports_and_plans_but_opens_no_wave(
    envol_context: EnvolContext, sandbox: Sandbox, tmp_path: Path
) -> None:
    output = io.StringIO()
    run = _run(envol_context, sandbox, tmp_path, output)
    sandbox.patch_config({"TeamSettings": {"MaxUsersPerTeam": 50}})

    step_people_and_waves(run)

    text = " ".join(output.getvalue().split())
    assert "300 people imported" in text and "Pilot: 30 of 300 people" in text
    assert run.state["waves"] == ["managers-champions", "pilote", "vague-1", "vague-2", "vague-3"]
    with envol_context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 300
        # The launch step opens each wave on its planned day, after the announcement.
        assert session.scalar(select(func.count()).select_from(WaveHandoff)) == 0
        assert set(session.scalars(select(Wave.status))) == {WaveStatus.PLANNED}
        first = session.scalar(select(func.min(Wave.planned_at)))
    assert run.state["first_wave_at"] == first
    # The server allows 50 people per team: `waves list` warns and preflight blocks, the same
    # limit read from the server by both.
    assert "over MaxUsersPerTeam (50)" in text and "blocked by Team size" in text
    assert run.state["limits_agree"] is True
