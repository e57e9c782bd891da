"""The outbox on its own: which attempt may send, and what an error text may keep."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from plugin.clock import FrozenClock
from plugin.delivery import outbox
from plugin.delivery.models import OutboundChannel, OutboundState
from plugin.delivery.outbox import scrub


def test_the_outbox_tells_a_fresh_send_from_a_busy_done_or_interrupted_one(
    db_session: Session, frozen_clock: FrozenClock
) -> None:
    lease = dt.timedelta(minutes=10)

    def begin(owner: str) -> outbox.BeginResult:
        return outbox.begin(
            db_session, "k:1", kind="x", channel=OutboundChannel.SMTP, owner=owner, in_flight=lease
        )

    begun = begin("a")
    assert begun.outcome is outbox.Begin.PROCEED
    # "a" may still be sending: another worker leaves it alone for a lease.
    assert begin("b").outcome is outbox.Begin.BUSY
    frozen_clock.advance(lease + dt.timedelta(seconds=1))
    again = begin("b")
    assert again.outcome is outbox.Begin.INTERRUPTED
    outbox.fail(db_session, again.message, "451 later", temporary=True)
    assert begin("b").outcome is outbox.Begin.PROCEED
    outbox.finish(db_session, again.message, "<id@x>")
    assert begin("c").outcome is outbox.Begin.DONE


def test_a_permanent_failure_or_an_uncertain_send_is_never_sent_again(
    db_session: Session, frozen_clock: FrozenClock
) -> None:
    lease = dt.timedelta(minutes=10)
    for key, settle in (
        ("k:failed", lambda m: outbox.fail(db_session, m, "550 for a@b.c", temporary=False)),
        ("k:uncertain", lambda m: outbox.mark_uncertain(db_session, m, "worker died")),
    ):
        begun = outbox.begin(
            db_session, key, kind="x", channel=OutboundChannel.MATTERMOST_INVITE, owner="a",
            in_flight=lease,
        )  # fmt: skip
        settle(begun.message)
        db_session.flush()
        later = outbox.begin(
            db_session, key, kind="x", channel=OutboundChannel.MATTERMOST_INVITE, owner="b",
            in_flight=lease,
        )  # fmt: skip
        assert later.outcome in (outbox.Begin.FAILED, outbox.Begin.DONE)
        assert outbox.message_for(db_session, key).attempts == 1
    assert outbox.message_for(db_session, "k:failed").error == "550 for ***"
    assert outbox.message_for(db_session, "k:uncertain").state == OutboundState.UNCERTAIN


def test_scrub_masks_addresses() -> None:
    assert scrub("invalid: jean.dupont@acme.fr, then <a@b.c>") == "invalid: ***, then <***>"
