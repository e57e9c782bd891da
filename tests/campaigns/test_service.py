"""The campaign services behind ``envol campaign status|send-due --dry-run|opt-out``."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from plugin.campaigns.models import (
    CampaignDelivery,
    CampaignOptOut,
    CampaignStepRun,
    StepRunStatus,
)
from plugin.campaigns.plan import load_plan
from plugin.campaigns.service import DueWork, due_work, opt_out_by_email, status_by_step
from plugin.errors import EnvolError
from tests.campaigns.conftest import LAUNCH, Roster

TEASER_1 = dt.datetime(2027, 1, 15, 8, 30, tzinfo=dt.UTC)  # J-45 09:30 Paris


def _teaser_1_planned(session: Session, roster: Roster, *, missed: bool = False) -> None:
    session.add(
        CampaignStepRun(
            step_key="lancement/teaser-1",
            status=StepRunStatus.MISSED if missed else StepRunStatus.MATERIALISED,
            due_at=TEASER_1,
            launch_date=LAUNCH,
            recipients=2,
        )
    )
    for person in roster.employees[:2]:
        session.add(
            CampaignDelivery(
                step_key="lancement/teaser-1",
                recipient_key=f"person:{person.id}",
                person_id=person.id,
                channel="email",
                language="fr",
                due_at=TEASER_1,
                next_attempt_at=TEASER_1,
                message_ref=f"ref-{person.id}",
            )
        )
    session.flush()


def test_due_work_plans_new_steps_and_sends_planned_rows(
    db_session: Session, roster: Roster
) -> None:
    plan = load_plan()
    before = due_work(db_session, plan, LAUNCH, TEASER_1 - dt.timedelta(minutes=1))
    assert before == []
    assert due_work(db_session, plan, LAUNCH, TEASER_1) == [DueWork("teaser-1", 5, 0)]
    _teaser_1_planned(db_session, roster)
    assert due_work(db_session, plan, LAUNCH, TEASER_1) == [DueWork("teaser-1", 0, 2)]


def test_status_by_step_says_when_a_step_became_due(db_session: Session, roster: Roster) -> None:
    plan = load_plan()
    _teaser_1_planned(db_session, roster, missed=True)
    first, second, *_ = status_by_step(db_session, plan)
    assert (first.step_key, first.count("planned"), first.missed) == ("teaser-1", 2, True)
    assert first.due_at is not None and first.due_at.strftime("%H:%M") == "09:30"  # Paris
    assert (second.due_at, second.missed, second.counts) == (None, False, {})


def test_opt_out_by_email(db_session: Session, roster: Roster) -> None:
    email = roster.employees[0].email
    assert opt_out_by_email(db_session, f"  {email.upper()} ", actor="test") is True
    assert opt_out_by_email(db_session, email, actor="test") is False
    assert db_session.get(CampaignOptOut, roster.employees[0].id) is not None
    with pytest.raises(EnvolError, match="nobody with the address"):
        opt_out_by_email(db_session, "nobody@exemple.fr", actor="test")
