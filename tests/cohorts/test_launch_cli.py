"""``envol waves launch`` and irreversible commands: refusals, confirmation, --yes, --dry-run."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from plugin.app import EnvolContext
from plugin.audit.models import AuditEvent
from plugin.cohorts.models import Wave, WaveHandoff, WaveStatus
from plugin.db import transaction
from plugin.people.models import Person
from plugin.settings import RuntimeSettings
from tests.cohorts.conftest import READY, import_fake_roster
from tests.cohorts.test_waves import plan

# The command line's mechanics do not depend on the database: SQLite only (the rules
# themselves run on both in test_guards.py), to keep the suite fast.
pytestmark = [
    pytest.mark.usefixtures("late_clock"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def planned(envol_context: EnvolContext, tmp_path: Path, settings: RuntimeSettings) -> Any:
    with transaction(envol_context.sessions) as session:
        import_fake_roster(session, tmp_path, 40)
        plan(session, settings)
    return envol_context


# The operator reads English here (tests/cli/test_language.py covers French).
ENGLISH = {"ENVOL_LANG": "en"}


def run(*args: str, terminal_answer: str | None = None) -> tuple[int, str]:
    from plugin.cli import root

    result = CliRunner(env=ENGLISH).invoke(root, list(args), input=terminal_answer)
    return result.exit_code, " ".join(result.output.split())


def facts_are(monkeypatch: pytest.MonkeyPatch, facts: Any) -> None:
    monkeypatch.setattr("plugin.cli.people._launch_facts", lambda session, ctx: facts)


def handoffs(context: EnvolContext) -> int:
    with context.sessions() as session:
        return session.scalar(select(func.count()).select_from(WaveHandoff)) or 0


def test_launch_refuses_with_every_reason_and_changes_nothing(
    planned: EnvolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = ("Bot account: create it",)
    facts_are(monkeypatch, dataclasses.replace(READY, announcement_sent_at=None,
                                               preflight_blockers=blocked))  # fmt: skip

    code, out = run("waves", "launch", "pilote", "--yes", "--force", "--reason", "go")

    assert code == 1
    assert "wave pilote cannot open now (3 reasons)" in out
    assert "announcement (step annonce-pdg) has not gone out" in out
    assert "Preflight reports a blocking problem (Bot account: create it)" in out
    assert "gate of wave pilote fails" in out  # wave 0 has not opened: nothing measured
    assert handoffs(planned) == 0


def test_launch_asks_first_refuses_without_a_terminal_and_opens_with_yes(
    planned: EnvolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts_are(monkeypatch, READY)

    code, out = run("waves", "launch", "managers-champions", "--dry-run")
    assert code == 0 and "dry run: would open wave managers-champions:" in out
    code, out = run("waves", "launch", "managers-champions")
    assert code == 1 and "no terminal to ask on: run it again with --yes" in out
    monkeypatch.setattr("plugin.cli.base.has_terminal", lambda: True)
    code, out = run("waves", "launch", "managers-champions", terminal_answer="n\n")
    assert code == 1 and "not confirmed: nothing was changed" in out
    assert handoffs(planned) == 0

    code, out = run("waves", "launch", "managers-champions", terminal_answer="y\n")

    assert code == 0 and "wave managers-champions opened;" in out
    with planned.sessions() as session:
        wave = session.scalar(select(Wave).where(Wave.name == "managers-champions"))
        assert wave is not None and wave.status == WaveStatus.OPEN
        assert handoffs(planned) == session.scalar(
            select(func.count()).select_from(Person).where(Person.role != "employee")
        )


def test_force_needs_a_reason_and_is_audited(
    planned: EnvolContext, monkeypatch: pytest.MonkeyPatch, late_clock: Any
) -> None:
    import datetime as dt

    facts_are(monkeypatch, READY)
    late_clock.set(dt.datetime(2027, 1, 15, 9, 0, tzinfo=dt.UTC))  # a month before wave 0

    assert run("waves", "launch", "managers-champions", "--yes", "--force")[0] == 1
    code, out = run("waves", "launch", "managers-champions", "--yes")
    assert code == 1 and "planned for 15 February 2027" in out

    code, out = run("waves", "launch", "managers-champions", "--yes", "--force",
                    "--reason", "training moved to January")  # fmt: skip

    assert code == 0 and "forced (training moved to January)" in out
    with planned.sessions() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "wave.forced"))
        assert event is not None and event.reason == "training moved to January"


def test_people_forget_without_a_terminal_refuses_and_erases_nothing(planned: EnvolContext) -> None:
    with planned.sessions() as session:
        email = session.scalars(select(Person.email).order_by(Person.id)).first()
    assert email is not None

    code, out = run("people", "forget", email)

    assert code == 1 and "no terminal to ask on" in out and "will erase" in out
    with planned.sessions() as session:
        assert session.scalar(select(Person.id).where(Person.email == email)) is not None


def test_waves_list_shows_an_unmeasured_gate_as_not_measured(planned: EnvolContext) -> None:
    code, out = run("waves", "list")

    assert code == 0
    assert code == 0
    assert "gate of managers-champions: holds" in out  # the first wave: nothing before it
    assert "gate of pilote: not measured" in out  # wave 0 has not opened: no measure, no pass


def test_a_roster_with_leavers_asks_first_and_onboarding_has_a_dry_run(
    planned: EnvolContext, tmp_path: Path
) -> None:
    from plugin.demo.fake_roster import write_roster_csv

    smaller = write_roster_csv(tmp_path / "smaller.csv", 30, 7)  # some of the 40 leave

    code, out = run("roster", "import", str(smaller))
    assert code == 1 and "leaving" in out and "no terminal to ask on" in out
    with planned.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Person).where(
            Person.status == "left")) == 0  # fmt: skip
    code, out = run("onboarding", "run-once", "--dry-run")
    assert code == 0 and "dry run: nothing sent, nothing written" in out
