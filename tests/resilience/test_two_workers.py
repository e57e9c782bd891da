"""Two workers on one Redis broker process the same wave at once, as production scales out.

Nothing may go twice and the work must really be shared: which process sent each e-mail is read
from the outbox (``OutboundMessage.owner`` is ``host:pid:suffix``), not guessed from timing.

A dispatcher cycle leases up to ``CycleEnvironment.batch_size`` (500) due rows at once, so a
wave of 500 or fewer is claimed whole by the first worker to tick and a second worker has
nothing to take. The wave here is larger, so that the second claim finds rows left.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select

from plugin.app import EnvolContext
from plugin.invitations.environment import CycleEnvironment
from plugin.invitations.models import InvitationState, OutboundMessage, OutboundState
from plugin.sandbox import Sandbox
from tests.resilience.conftest import (
    Beat,
    PrivateRedis,
    WorkerPool,
    deliveries,
    explain_states,
    launch_wave,
    state_counts,
    wait_until,
    welcomes,
    worker_environment,
)
from tests.support.smtp import SmtpServer

WAVE = 640  # 161 already on Mattermost (one in four, and the managers), 479 to e-mail
# Paced so that the first claim's e-mails take a few seconds: the second worker's tick comes
# while they go out (at full speed a fast machine could drain the whole wave in one worker).
SMTP_RATE = 150
DEADLINE_SECONDS = 90


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.timeout(150)
def test_two_workers_share_a_wave_and_send_nothing_twice(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    private_redis: PrivateRedis,
    worker_pool: WorkerPool,
    beat_for: Callable[[str], Beat],
) -> None:
    assert CycleEnvironment.batch_size < WAVE, "one claim would take the whole wave"
    sessions = envol_context.sessions
    wave = launch_wave(sandbox, sessions, people=WAVE, existing_every=4)
    worker_pool.env = worker_environment(
        envol_context,
        sandbox,
        broker_url=private_redis.url,
        smtp_url=f"{smtp_server.url}?rate={SMTP_RATE}",
        lease_seconds=60,
    )
    # One pool process each: every task a worker runs is that worker's, so the spread below is
    # between the two workers, not between two pool processes of one of them.
    worker_pool.start("a", concurrency=1)
    worker_pool.start("b", concurrency=1)
    worker_pool.wait_ready("a", "b")
    beat = beat_for(private_redis.url)
    wait_until(
        lambda: (
            state_counts(sessions)
            == {
                InvitationState.SENT: len(wave.newcomers),
                InvitationState.ACTIVATED: len(wave.existing),
            }
        ),
        beat,
        time.monotonic() + DEADLINE_SECONDS,
        "every newcomer e-mailed and every existing user welcomed",
        explain_states(sessions),
        worker_pool,
    )

    # Nothing twice: one e-mail per newcomer, one copy; one welcome per existing user.
    delivered = deliveries(smtp_server.messages, wave.newcomer_addresses)
    assert not delivered.missing and not delivered.unexpected
    assert delivered.several_message_ids == {} and delivered.extra_copies == {}
    assert welcomes(sandbox) == dict.fromkeys(wave.existing, 1)
    # Shared: the outbox says which process sent what; both workers sent e-mails.
    with sessions() as session:
        sends = session.execute(
            select(OutboundMessage.kind, OutboundMessage.owner, OutboundMessage.state)
        ).all()
    assert {state for _, _, state in sends} == {OutboundState.SENT}
    by_worker: Counter[tuple[str, str | None]] = Counter(
        (kind, worker_pool.worker_of(int(owner.split(":")[1]))) for kind, owner, _ in sends
    )
    assert by_worker[("invitation", "a")] > 0 and by_worker[("invitation", "b")] > 0, by_worker
    assert by_worker[("invitation", "a")] + by_worker[("invitation", "b")] == len(wave.newcomers)
    print(f"sends by kind and worker: {dict(by_worker)}")
