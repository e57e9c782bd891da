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

import pytest
from sqlalchemy import text

from plugin.app import EnvolContext
from plugin.db import make_engine
from plugin.sandbox import Sandbox
from tests.helpers.smtp import SmtpServer
from tests.resilience.harness import Beat, WaveStarter, WorkerPool, unsettled_outbox, welcomes

OUTAGE_SECONDS = 4
TERMINATE_EVERY_SECONDS = 0.2
LEASE_SECONDS = 15  # rows a failed task left leased are taken over after this
DEADLINE_SECONDS = 80
TERMINATE_OTHERS = text(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


def end_every_other_connection(database_url: str, seconds: float, beat: Beat) -> int:
    """End every other connection to the database, repeatedly, for ``seconds``; the beat keeps
    ticking. Returns how many connections were ended."""
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    ended = 0
    try:
        with admin.connect() as connection:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                ended += sum(bool(done) for done in connection.scalars(TERMINATE_OTHERS))
                beat.maybe_tick()
                time.sleep(TERMINATE_EVERY_SECONDS)
    finally:
        admin.dispose()
    return ended


@pytest.mark.slow
@pytest.mark.postgresql
@pytest.mark.timeout(150)
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
    ended = end_every_other_connection(database_url, OUTAGE_SECONDS, run.beat)
    emailed_after_loss = len(smtp_server.messages)
    run.wait_until_settled()

    assert 0 < emailed_at_loss < len(wave.newcomers)  # the loss landed mid-wave
    assert ended > 0
    # E-mails: every newcomer got one invitation; a copy re-sent after an interruption carries
    # the first one's Message-ID (mail stores show it once), at most one per failed task.
    delivered = run.deliveries()
    assert not delivered.missing and not delivered.unexpected
    assert delivered.several_message_ids == {}, "a newcomer got two different invitations"
    log = worker_pool.log("a")
    # Runs cut short by the loss: logged by ``database_outage_logged`` (or, for an error it
    # does not recognise, by Celery).
    failed_tasks = len(re.findall(r"lost the database connection|Task \S+ raised unexpected", log))
    assert sum(delivered.extra_copies.values()) <= failed_tasks
    # DMs: exactly once (the marker is looked up before a re-send).
    assert welcomes(sandbox) == dict.fromkeys(wave.existing, 1)
    assert unsettled_outbox(run.sessions) == {}
    # The worker lived through it and said what happened.
    assert worker_pool.alive("a") and worker_pool.pid("a") == worker_pid
    lost = re.search(r".*terminating connection due to administrator command.*", log)
    assert lost, f"no line about the lost database connection in the worker's log:\n{log[-3000:]}"
    print(
        f"e-mailed at the loss {emailed_at_loss}, after it {emailed_after_loss} of "
        f"{len(wave.newcomers)}; connections ended {ended}; failed tasks {failed_tasks}; "
        f"extra copies {delivered.extra_copies}; line: {lost.group(0)[:300]!r}"
    )
