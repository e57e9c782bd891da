"""The roster's coverage at the end of the demo, and the demo's own secret key."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from plugin import clock
from plugin.app import EnvolContext
from plugin.cohorts.models import Cohort, Wave, WaveHandoff
from plugin.db import transaction
from plugin.demo.coverage import FAILED, LEFT, roster_coverage
from plugin.demo.run import DemoRun
from plugin.demo.stage import demo_secret_key
from plugin.invitations.models import Invitation, InvitationState
from plugin.people.models import Person, PersonStatus
from plugin.settings import DeploySettings


def _people(context: EnvolContext) -> None:
    now = clock.now()
    with transaction(context.sessions) as session:
        cohort = Cohort(name="c")
        session.add(cohort)
        session.flush()
        waves = [Wave(name=f"w{n}", cohort_id=cohort.id, position=n) for n in (1, 2)]
        people = [
            Person(email=f"{name}@exemple.fr", first_name=name, last_name="X")
            for name in ("once", "twice", "left", "failed", "pending")
        ]
        people[2].status = PersonStatus.LEFT
        session.add_all([*waves, *people])
        session.flush()
        once, twice, _, failed, pending = people
        for person in (once, twice, failed, pending):
            session.add(WaveHandoff(wave_id=waves[0].id, person_id=person.id, handed_at=now))
        sent = InvitationState.SENT
        session.add_all([
            Invitation(person_id=once.id, wave_id=waves[0].id, state=sent, sent_at=now),
            Invitation(person_id=twice.id, wave_id=waves[0].id, state=sent, sent_at=now),
            Invitation(person_id=twice.id, wave_id=waves[1].id, state=sent, sent_at=now),
            Invitation(person_id=failed.id, wave_id=waves[0].id, state=InvitationState.FAILED),
            Invitation(person_id=pending.id, wave_id=waves[0].id, state=InvitationState.PLANNED),
        ])  # fmt: skip


def test_coverage_counts_each_person_once_and_names_why_others_were_not_invited(
    envol_context: EnvolContext, tmp_path: Path
) -> None:
    _people(envol_context)
    run = DemoRun(context=envol_context, console=Console(file=io.StringIO()), workdir=tmp_path,
                  people=5, seed=7, faults=False, started=clock.now())  # fmt: skip

    coverage = roster_coverage(run)

    assert (coverage.roster, coverage.invited_once, coverage.invited_more) == (5, 1, 1)
    assert coverage.excluded == {
        LEFT: ["left@exemple.fr"],
        FAILED: ["failed@exemple.fr"],
        "handed over but not sent yet": ["pending@exemple.fr"],
    }
    # Invited twice, and someone still waiting: not a whole launch.
    assert not coverage.complete
    assert coverage.as_json()["excluded"] == {LEFT: 1, FAILED: 1, "handed over but not sent yet": 1}


def test_the_demo_signs_with_its_own_random_key_unless_one_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ENVOL_SECRET_KEY", raising=False)
    first, second = demo_secret_key(), demo_secret_key()
    development = DeploySettings.model_fields["secret_key"].default.get_secret_value()
    assert first != second and development not in (first, second)
    assert len(first) >= 32
    monkeypatch.setenv("ENVOL_SECRET_KEY", "set-by-the-operator-0123")
    assert demo_secret_key() == "set-by-the-operator-0123"
