"""The database connection is lost for a few seconds while a wave's e-mails are going out.

Once a third of the invitation e-mails are out, every connection to the test's database but
the test's own is ended (``pg_terminate_backend``), again and again for a few seconds: whatever
a worker was doing (claiming, marking an e-mail ``sending``, recording it sent, journaling its
acceptance, welcoming) fails mid-transaction. The shared PostgreSQL itself is never stopped.
Afterwards nothing may be lost and no invitation may go twice (an e-mail interrupted between
the relay's acceptance and its record may be sent again, with the same Message-ID: that is the
at-least-once policy of ``plugin/delivery/outbox.py``, and is counted, not hidden).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from plugin.app import EnvolContext
from plugin.db import make_engine
from plugin.sandbox import Sandbox
from tests.helpers.smtp import SmtpServer
from tests.resilience.harness import (
    WORKER_APPLICATION_NAME,
    Beat,
    WaveStarter,
    WorkerPool,
    unsettled_outbox,
    welcomes,
)

OUTAGE_SECONDS = 4
TERMINATE_EVERY_SECONDS = 0.05
LONGEST_OUTAGE_SECONDS = 30  # the outage goes on until it has cut a worker's work in flight
LEASE_SECONDS = 15  # rows a failed task left leased are taken over after this
DEADLINE_SECONDS = 100
# Every other connection is ended; a worker's connection that was running a statement or held
# a transaction open counts as work cut in flight (an idle pooled connection is replaced
# silently by the pool's pre-ping, which proves nothing).
TERMINATE_OTHERS = text(
    "SELECT pg_terminate_backend(pid), application_name = :worker AND state <> 'idle' "
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
).bindparams(worker=WORKER_APPLICATION_NAME)


@dataclass
class Outage:
    ended: int = 0  # connections ended
    cut_in_flight: int = 0  # of which a worker's, mid-statement or mid-transaction
    seconds: float = 0.0


def end_every_other_connection(database_url: str, beat: Beat) -> Outage:
    """End every other connection to the database, repeatedly, for ``OUTAGE_SECONDS`` and
    until a worker's work in flight was cut (at most ``LONGEST_OUTAGE_SECONDS``); the beat
    keeps ticking."""
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    outage = Outage()
    start = time.monotonic()
    try:
        with admin.connect() as connection:
            while True:
                outage.seconds = time.monotonic() - start
                if outage.seconds >= LONGEST_OUTAGE_SECONDS or (
                    outage.seconds >= OUTAGE_SECONDS and outage.cut_in_flight
                ):
                    return outage
                for ended, in_flight in connection.execute(TERMINATE_OTHERS):
                    outage.ended += bool(ended)
                    outage.cut_in_flight += bool(ended and in_flight)
                beat.maybe_tick()
                time.sleep(TERMINATE_EVERY_SECONDS)
    finally:
        admin.dispose()


@pytest.mark.slow
@pytest.mark.postgresql
@pytest.mark.timeout(180)
def test_a_lost_database_connection_mid_wave_loses_nothing_and_sends_nothing_twice(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    worker_pool: WorkerPool,
    start_wave: WaveStarter,
) -> None:
    database_url = envol_context.settings.database_url
    if database_url.startswith("sqlite"):
        pytest.skip("a SQLite database is a file: there is no connection to lose")
    run = start_wave(smtp_server, lease_seconds=LEASE_SECONDS, deadline_seconds=DEADLINE_SECONDS)
    wave = run.wave
    worker_pid = worker_pool.pid("a")

    run.wait_until_emailed(len(wave.newcomers) // 3, "a third of the e-mails")
    emailed_at_loss = len(smtp_server.messages)
    outage = end_every_other_connection(database_url, run.beat)
    emailed_after_loss = len(smtp_server.messages)
    run.wait_until_settled()

    assert 0 < emailed_at_loss < len(wave.newcomers)  # the loss landed mid-wave
    assert outage.cut_in_flight > 0, f"in {outage.seconds:.0f} s the outage cut no work in flight"
    # E-mails: every newcomer got one invitation; a copy re-sent after an interruption carries
    # the first one's Message-ID (mail stores show it once), at most one per failed task.
    delivered = run.deliveries()
    assert not delivered.missing and not delivered.unexpected
    assert delivered.several_message_ids == {}, "a newcomer got two different invitations"
    log = worker_pool.log("a")
    # Runs cut short by the loss: logged by ``database_outage_logged`` ("invitations: lost the
    # database connection (…)") or, for an error it does not recognise, by Celery. The journal's
    # retries on a new connection ("lost the database connection while journalling") cut no run.
    failed_tasks = len(
        re.findall(r"\w: lost the database connection \(|Task \S+ raised unexpected", log)
    )
    assert sum(delivered.extra_copies.values()) <= failed_tasks
    # DMs: exactly once (the marker is looked up before a re-send).
    assert welcomes(sandbox) == dict.fromkeys(wave.existing, 1)
    assert unsettled_outbox(run.sessions) == {}
    # The worker lived through it and said what happened: a run cut short, or the journal
    # retrying on a new connection (whichever connection the outage caught in flight).
    assert worker_pool.alive("a") and worker_pool.pid("a") == worker_pid
    lost = re.search(
        r".*(lost the database connection|terminating connection due to administrator command).*",
        log,
    )
    assert lost, f"no line about the lost database connection in the worker's log:\n{log[-3000:]}"
    print(
        f"e-mailed at the loss {emailed_at_loss}, after it {emailed_after_loss} of "
        f"{len(wave.newcomers)}; connections ended {outage.ended} "
        f"({outage.cut_in_flight} in flight, {outage.seconds:.1f} s); failed tasks {failed_tasks}; "
        f"extra copies {delivered.extra_copies}; line: {lost.group(0)[:300]!r}"
    )
