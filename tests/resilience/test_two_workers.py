"""Two workers on one Redis broker process the same wave at once, as production scales out.

Nothing may go twice and the work must really be shared: which process sent each e-mail is read
from the outbox (``OutboundMessage.owner`` is ``host:pid:suffix``), not guessed from timing.

A dispatcher cycle leases up to ``CycleEnvironment.batch_size`` (500) due rows at once, so a
wave of 500 or fewer is claimed whole by the first worker to tick and a second worker has
nothing to take. The wave here is larger, so that the second claim finds rows left.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from plugin.delivery.models import OutboundMessage, OutboundState
from plugin.invitations.environment import CycleEnvironment
from plugin.sandbox import Sandbox
from tests.helpers.smtp import SmtpServer
from tests.resilience.harness import WaveStarter, WorkerPool, welcomes

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
    smtp_server: SmtpServer,
    worker_pool: WorkerPool,
    start_wave: WaveStarter,
) -> None:
    assert CycleEnvironment.batch_size < WAVE, "one claim would take the whole wave"
    run = start_wave(
        smtp_server,
        lease_seconds=60,
        deadline_seconds=DEADLINE_SECONDS,
        people=WAVE,
        existing_every=4,
        smtp_rate=SMTP_RATE,
        # One pool process each: every task a worker runs is that worker's, so the spread below
        # is between the two workers, not between two pool processes of one of them.
        worker_names=("a", "b"),
        concurrency=1,
    )
    wave = run.wave
    run.wait_until_settled()

    # Nothing twice: one e-mail per newcomer, one copy; one welcome per existing user.
    delivered = run.deliveries()
    assert not delivered.missing and not delivered.unexpected
    assert delivered.several_message_ids == {} and delivered.extra_copies == {}
    assert welcomes(sandbox) == dict.fromkeys(wave.existing, 1)
    # Shared: the outbox says which process sent what; both workers sent e-mails.
    with run.sessions() as session:
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
