"""A profile follow-up row taken over by another worker while a nudge is posted: the worker
that lost the lease writes nothing to the row, and the nudge is still counted once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update

from plugin import clock
from plugin.app import EnvolContext
from plugin.audit.models import AuditEvent
from plugin.clock import FrozenClock
from plugin.db import transaction
from plugin.onboarding.cycle import run_once
from plugin.onboarding.followup import follow_up_profiles
from plugin.onboarding.models import ProfileFollowUp
from plugin.sandbox import Sandbox
from tests.invitations.world import build_scene, environment, markers, runtime

SETTINGS = runtime(ProfileNudgeDelaysDays="2,7")


def _nudge_audits(context: EnvolContext, person_id: int) -> int:
    with context.sessions() as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    AuditEvent.action == "profile.nudged", AuditEvent.subject_id == str(person_id)
                )
            )
            or 0
        )


def test_a_nudge_whose_row_was_taken_over_mid_send_leaves_the_new_holders_row_alone(
    sandbox: Sandbox, envol_context: EnvolContext, frozen_clock: FrozenClock
) -> None:
    build_scene(sandbox, envol_context.sessions, people=3, existing_every=1, managers=0)
    run_once(environment(sandbox, envol_context.sessions, settings=SETTINGS), digests=False)
    frozen_clock.advance(dt.timedelta(days=2, hours=1))

    worker_a = environment(sandbox, envol_context.sessions, settings=SETTINGS)
    new_holders_due = clock.now() + dt.timedelta(hours=5)
    taken: list[int] = []
    post_nudge = worker_a.mm.send_direct_message

    def post_then_lose_the_row(user_id: str, message: str, **kwargs: Any) -> dict[str, Any]:
        post = post_nudge(user_id, message, **kwargs)
        if not taken:  # worker B takes the first row over while A's post is on its way
            with transaction(envol_context.sessions) as session:
                row = session.scalars(
                    select(ProfileFollowUp).where(ProfileFollowUp.mattermost_user_id == user_id)
                ).one()
                taken.append(row.person_id)
                session.execute(
                    update(ProfileFollowUp)
                    .where(ProfileFollowUp.id == row.id)
                    .values(
                        lease_owner="worker-b",
                        lease_expires_at=clock.now() + worker_a.lease,
                        due_at=new_holders_due,
                    )
                )
        return post

    worker_a.mm.send_direct_message = post_then_lose_the_row  # type: ignore[method-assign,assignment]
    try:
        report = follow_up_profiles(worker_a)
    finally:
        worker_a.close()
    assert report.nudged == 3
    (person_id,) = taken
    with envol_context.sessions() as session:
        row = session.scalars(
            select(ProfileFollowUp).where(ProfileFollowUp.person_id == person_id)
        ).one()
        assert (row.lease_owner, row.nudges_sent) == ("worker-b", 0)
        assert row.due_at == new_holders_due
        others = session.scalars(
            select(ProfileFollowUp).where(ProfileFollowUp.person_id != person_id)
        ).all()
        assert [r.nudges_sent for r in others] == [1, 1]
    assert _nudge_audits(envol_context, person_id) == 1  # the nudge did go out

    # Worker B's turn: it finds the nudge already posted, counts it and posts nothing.
    with transaction(envol_context.sessions) as session:
        session.execute(
            update(ProfileFollowUp)
            .where(ProfileFollowUp.person_id == person_id)
            .values(lease_owner=None, lease_expires_at=None, due_at=clock.now())
        )
    worker_b = environment(sandbox, envol_context.sessions, settings=SETTINGS)
    try:
        assert follow_up_profiles(worker_b).nudged == 0
    finally:
        worker_b.close()
    with envol_context.sessions() as session:
        row = session.scalars(
            select(ProfileFollowUp).where(ProfileFollowUp.person_id == person_id)
        ).one()
        assert row.nudges_sent == 1
        assert row.due_at == row.joined_at + dt.timedelta(days=7)
    assert set(markers(sandbox, "nudge:").values()) == {1}
    assert len(markers(sandbox, "nudge:")) == 3
    assert _nudge_audits(envol_context, person_id) == 1
