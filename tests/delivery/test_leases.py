"""Claiming due rows under a lease: disjoint claims, take-over after expiry, outcomes written only
by the holder, on every table that declares its lease columns."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.campaigns.models import CampaignDelivery, DeliveryStatus
from plugin.cohorts.models import Cohort, Wave
from plugin.delivery.leases import (
    LEASE,
    LeaseColumns,
    claim_due,
    client_limits,
    release,
    still_mine,
    still_mine_among,
    update_held,
)
from plugin.invitations.models import Invitation


def _due_invitations(session: Session, count: int) -> list[int]:
    cohort = Cohort(name="c")
    session.add(cohort)
    session.flush()
    wave = Wave(name="w", cohort_id=cohort.id)
    session.add(wave)
    session.flush()
    session.execute(
        insert(Invitation), [{"wave_id": wave.id, "due_at": clock.now()} for _ in range(count)]
    )
    return list(session.scalars(select(Invitation.id).order_by(Invitation.id)))


def test_two_claimers_never_get_the_same_row_and_an_expired_lease_is_taken_over(
    db_session: Session, frozen_clock: clock.FrozenClock
) -> None:
    _due_invitations(db_session, 10)
    now = clock.now()
    first = claim_due(db_session, Invitation, owner="a", now=now, limit=6)
    second = claim_due(db_session, Invitation, owner="b", now=now, limit=6)
    assert len(first) == 6 and len(second) == 4 and not set(first) & set(second)
    later = now + dt.timedelta(minutes=11)
    third = claim_due(db_session, Invitation, owner="c", now=later, limit=20)
    assert sorted(third) == sorted(first + second)
    assert not still_mine(db_session, Invitation, first[0], "a", later)
    assert still_mine(db_session, Invitation, first[0], "c", later, dt.timedelta(minutes=3))
    # The holder's check extends its lease; the loser's wrote nothing.
    db_session.expire_all()
    row = db_session.get_one(Invitation, first[0])
    assert (row.lease_owner, row.lease_expires_at) == ("c", later + dt.timedelta(minutes=3))


def test_the_rows_still_mine_among_many_are_those_held_and_their_lease_is_extended(
    db_session: Session, frozen_clock: clock.FrozenClock
) -> None:
    ids = _due_invitations(db_session, 6)
    now = clock.now()
    mine = claim_due(db_session, Invitation, owner="a", now=now, limit=4)
    theirs = claim_due(db_session, Invitation, owner="b", now=now, limit=4)
    later = now + dt.timedelta(minutes=5)

    held = still_mine_among(db_session, Invitation, ids, "a", later, dt.timedelta(minutes=10))

    assert held == set(mine) and not held & set(theirs)
    expiries = {
        row.id: row.lease_expires_at
        for row in db_session.execute(select(Invitation.id, Invitation.lease_expires_at))
    }
    assert {expiries[i] for i in mine} == {later + dt.timedelta(minutes=10)}
    assert {expiries[i] for i in theirs} == {now + LEASE}
    assert still_mine_among(db_session, Invitation, theirs, "a", later) == set()


def test_rows_not_yet_due_or_filtered_out_are_not_claimed(
    db_session: Session, frozen_clock: clock.FrozenClock
) -> None:
    ids = _due_invitations(db_session, 3)
    db_session.execute(
        Invitation.__table__.update()
        .where(Invitation.id == ids[0])
        .values(due_at=clock.now() + dt.timedelta(minutes=1))
    )
    db_session.execute(
        Invitation.__table__.update().where(Invitation.id == ids[1]).values(due_at=None)
    )
    now = clock.now()
    assert claim_due(db_session, Invitation, owner="a", now=now, limit=10) == [ids[2]]
    # Given back, it is claimable again; ``where`` narrows what is claimed.
    release(db_session, Invitation, [ids[2]], "a")
    other = Invitation.id != ids[2]
    assert claim_due(db_session, Invitation, owner="b", now=now, limit=10, where=other) == []
    assert claim_due(db_session, Invitation, owner="b", now=now, limit=10) == [ids[2]]


def test_only_the_holder_writes_an_outcome(
    db_session: Session, frozen_clock: clock.FrozenClock
) -> None:
    [row] = _due_invitations(db_session, 1)
    now = clock.now()
    assert claim_due(db_session, Invitation, owner="a", now=now, limit=1) == [row]
    assert update_held(db_session, Invitation, [row], "b", {"last_error": "b was here"}) == 0
    assert update_held(db_session, Invitation, [row], "a", {"last_error": "a was here"}) == 1
    db_session.expire_all()
    assert db_session.get_one(Invitation, row).last_error == "a was here"


def _campaign_rows(session: Session, count: int) -> None:
    now = clock.now()
    session.execute(
        insert(CampaignDelivery),
        [
            {
                "step_key": "launch/teaser",
                "recipient_key": f"person:{n}",
                "channel": "email",
                "language": "fr",
                "status": DeliveryStatus.PLANNED,
                # Its step's date is far ahead; only the next attempt's time says it is due.
                "due_at": now + dt.timedelta(days=30),
                "next_attempt_at": now,
                "message_ref": f"<{n}@x>",
            }
            for n in range(count)
        ],
    )


def test_a_table_with_its_own_lease_columns_is_claimed_the_same_way(
    db_session: Session, frozen_clock: clock.FrozenClock
) -> None:
    """The campaign's deliveries: due at ``next_attempt_at``, held by ``lease_token``; the claim
    also marks them sending and counts the attempt."""
    _campaign_rows(db_session, 3)
    columns = LeaseColumns(due="next_attempt_at", owner="lease_token")
    marks = {"status": DeliveryStatus.SENDING, "attempts": CampaignDelivery.attempts + 1}
    now = clock.now()
    first = claim_due(
        db_session, CampaignDelivery, owner="t1", now=now, limit=2, columns=columns,
        also_set=marks,
    )  # fmt: skip
    second = claim_due(
        db_session, CampaignDelivery, owner="t2", now=now, limit=5, columns=columns,
        also_set=marks,
    )  # fmt: skip
    assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)
    rows = db_session.scalars(select(CampaignDelivery)).all()
    assert {(r.status, r.attempts) for r in rows} == {(DeliveryStatus.SENDING, 1)}
    later = now + dt.timedelta(minutes=11)
    assert not still_mine(db_session, CampaignDelivery, first[0], "t2", later, columns=columns)
    third = claim_due(db_session, CampaignDelivery, owner="t3", now=later, limit=5, columns=columns)
    assert sorted(third) == sorted(first + second)


def test_the_adapter_ends_a_call_well_within_the_lease() -> None:
    short = client_limits(dt.timedelta(seconds=30))
    assert short["timeout"] < 30 and short["retry_budget_seconds"] < 30
    assert client_limits(dt.timedelta(minutes=10)) == {
        "timeout": 15.0,
        "retry_budget_seconds": 60.0,
    }
