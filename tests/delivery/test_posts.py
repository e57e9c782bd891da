"""Direct messages and posts once per key, against the sandbox over HTTP: a second attempt, an
interrupted one, a concurrent one, and a worker that lost its lease."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.app import EnvolContext
from plugin.db import transaction
from plugin.delivery import outbox
from plugin.delivery.models import OutboundChannel, OutboundMessage, OutboundState
from plugin.delivery.posts import Courier, DmOutcome, direct_message_once, send_dm_once
from plugin.mattermost import MattermostClient
from plugin.sandbox import Sandbox

LEASE = dt.timedelta(minutes=10)


@pytest.fixture
def courier(sandbox: Sandbox, envol_context: EnvolContext) -> Iterator[Courier]:
    client = MattermostClient(sandbox.url, sandbox.admin_token)
    try:
        yield Courier(envol_context.sessions, client, owner="worker-a", lease=LEASE)
    finally:
        client.close()


@pytest.fixture
def user_id(sandbox: Sandbox) -> str:
    return str(sandbox.create_user("lea", email="lea@acme.test", first_name="Léa")["id"])


def _posts(sandbox: Sandbox, courier: Courier, user_id: str) -> list[str]:
    channel = courier.mm.get_direct_channel(user_id)["id"]
    return [str(p["message"]) for p in sandbox.posts_in(channel) if not p.get("delete_at")]


def _state(courier: Courier, key: str) -> OutboundState:
    with courier.sessions() as session:
        return session.scalars(
            select(OutboundMessage.state).where(OutboundMessage.key == key)
        ).one()


def test_a_message_goes_out_once_however_often_it_is_asked_for(
    sandbox: Sandbox, courier: Courier, user_id: str, frozen_clock: clock.FrozenClock
) -> None:
    seen: list[DmOutcome] = []

    def then(session: Session, outcome: DmOutcome) -> None:
        seen.append(outcome)

    for _ in range(3):
        send_dm_once(
            courier, "hello:1", kind="hello", user_id=user_id, message="Bonjour", then=then
        )
    assert seen == [DmOutcome.SENT, DmOutcome.ALREADY_SENT, DmOutcome.ALREADY_SENT]
    assert _posts(sandbox, courier, user_id) == ["Bonjour"]
    assert _state(courier, "hello:1") == OutboundState.SENT


def _began_elsewhere(courier: Courier, key: str, channel_id: str) -> None:
    """Another worker committed "sending" for ``key`` (and may have posted)."""
    with transaction(courier.sessions) as session:
        outbox.begin(
            session, key, kind="hello", channel=OutboundChannel.DIRECT_MESSAGE, owner="worker-b",
            channel_ref=channel_id, in_flight=LEASE,
        )  # fmt: skip


def test_an_interrupted_send_that_landed_is_found_by_its_marker_and_not_posted_again(
    sandbox: Sandbox, courier: Courier, user_id: str, frozen_clock: clock.FrozenClock
) -> None:
    channel_id = str(courier.mm.get_direct_channel(user_id)["id"])
    _began_elsewhere(courier, "hello:2", channel_id)
    landed = courier.mm.send_direct_message(user_id, "Bonjour", marker="hello:2")
    # Within the lease the other worker may still be posting: leave it alone.
    assert send_dm_once(courier, "hello:2", kind="hello", user_id=user_id, message="Bonjour") is (
        DmOutcome.BUSY
    )
    frozen_clock.advance(LEASE + dt.timedelta(seconds=1))  # it died
    outcome = send_dm_once(courier, "hello:2", kind="hello", user_id=user_id, message="Bonjour")
    assert outcome is DmOutcome.ALREADY_SENT
    assert _posts(sandbox, courier, user_id) == ["Bonjour"]
    with courier.sessions() as session:
        assert outbox.message_for(session, "hello:2").reference == landed["id"]


def test_an_interrupted_send_that_never_landed_is_sent_again_once(
    sandbox: Sandbox, courier: Courier, user_id: str, frozen_clock: clock.FrozenClock
) -> None:
    channel_id = str(courier.mm.get_direct_channel(user_id)["id"])
    _began_elsewhere(courier, "hello:3", channel_id)
    frozen_clock.advance(LEASE + dt.timedelta(seconds=1))
    outcome = send_dm_once(courier, "hello:3", kind="hello", user_id=user_id, message="Bonjour")
    assert outcome is DmOutcome.SENT
    assert _posts(sandbox, courier, user_id) == ["Bonjour"]


def test_a_worker_that_lost_its_lease_sends_nothing_and_leaves_no_trace(
    sandbox: Sandbox, courier: Courier, user_id: str, frozen_clock: clock.FrozenClock
) -> None:
    called: list[DmOutcome] = []
    outcome = send_dm_once(
        courier, "hello:4", kind="hello", user_id=user_id, message="Bonjour",
        then=lambda session, o: called.append(o), still_held=lambda session: False,
    )  # fmt: skip
    assert outcome is DmOutcome.BUSY and called == []
    assert _posts(sandbox, courier, user_id) == []
    with courier.sessions() as session:
        assert session.scalars(select(OutboundMessage)).all() == []


def test_direct_message_once_finds_the_post_a_crashed_task_made(
    sandbox: Sandbox, courier: Courier, user_id: str, frozen_clock: clock.FrozenClock
) -> None:
    due = clock.now()
    first = direct_message_once(courier.mm, user_id, "Merci", marker="ticket-1-ack", since=due)
    frozen_clock.advance(dt.timedelta(hours=2))  # the task is retried much later
    again = direct_message_once(courier.mm, user_id, "Merci", marker="ticket-1-ack", since=due)
    assert again["id"] == first["id"]
    assert _posts(sandbox, courier, user_id) == ["Merci"]


def test_a_persons_second_dm_costs_one_request(
    sandbox: Sandbox, courier: Courier, user_id: str, frozen_clock: clock.FrozenClock
) -> None:
    send_dm_once(courier, "first", kind="welcome", user_id=user_id, message="Bienvenue")
    before = courier.mm.request_count
    send_dm_once(courier, "second", kind="nudge", user_id=user_id, message="Votre profil")
    assert courier.mm.request_count - before == 1  # the post; the DM channel is remembered
    assert _posts(sandbox, courier, user_id) == ["Bienvenue", "Votre profil"]
