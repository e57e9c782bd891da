"""Reliability: real ``envol worker`` processes, a faulty Mattermost, SIGKILL twice mid-wave.

Two solo workers share a sqla+sqlite broker; the test plays a beat that ticks twice as often as
needed and twice per tick (duplicate beats). The sandbox answers 20 % of calls with a 5xx, drops
some connections and rate-limits (429). Worker A is killed with SIGKILL twice while the wave is
going out, and restarted each time. Counted from the sandbox and the SMTP server: nothing lost,
nothing sent twice. E-mails are sent at least once (``plugin/invitations/outbox.py``): a kill
between the relay's 250 and the journal's commit sends a second copy with the same Message-ID,
so the SMTP server may see at most one extra copy per kill, never a second distinct message.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import func, select

from plugin.app import EnvolContext
from plugin.invitations.models import (
    Invitation,
    InvitationState,
    OutboundMessage,
    OutboundState,
)
from plugin.people.models import Person
from plugin.sandbox import Sandbox
from tests.invitations.world import WAVE_CHANNELS, build_scene, markers, recipients
from tests.support.smtp import SmtpServer

# 300 people in CI (about three minutes under the faults); ENVOL_RELIABILITY_WAVE=1500 runs the
# issue's full wave (about twelve minutes on two cores: every fifth call backs off and retries).
WAVE = int(os.environ.get("ENVOL_RELIABILITY_WAVE", "300"))
DEADLINE_SECONDS = 240 + WAVE // 2


class Workers:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.kills = 0

    def start(self, name: str) -> None:
        with (self.workdir / f"worker-{name}.log").open("ab") as log:  # the child keeps its fd
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "plugin.cli", "worker", "--pool", "solo"],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self, name: str) -> None:
        process = self.processes[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        self.kills += 1

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(
    sandbox: Sandbox, envol_context: EnvolContext, smtp_server: SmtpServer, tmp_path: Path
) -> Iterator[Workers]:
    env = {
        **os.environ,
        "ENVOL_DATABASE_URL": envol_context.settings.database_url,
        "ENVOL_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        "ENVOL_MATTERMOST_URL": sandbox.url,
        "ENVOL_MATTERMOST_TOKEN": sandbox.admin_token,
        "ENVOL_SMTP_URL": smtp_server.url,
        "ENVOL_MAIL_FROM": "Envol <envol@acme.test>",
        "ENVOL_SECRET_KEY": "test-secret-key-0123456789",
        # A killed worker's rows are taken over after half a minute, not ten minutes (and a
        # live worker looking up 100 addresses through the faults keeps its lease).
        "ENVOL_INVITATION_LEASE_SECONDS": "30",
    }
    pool = Workers(env, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def _wait(
    condition: Callable[[], bool],
    tick: Callable[[], None],
    deadline: float,
    what: str,
    explain: Callable[[], str] = lambda: "",
) -> None:
    last_tick = 0.0
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; {explain()}")
        if time.monotonic() - last_tick > 1.0:
            tick()
            last_tick = time.monotonic()
        time.sleep(0.05)  # look often: the kills must land while e-mails are going out


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_killed_workers_and_a_faulty_server_lose_nothing_and_send_nothing_twice(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    workers: Workers,
    tmp_path: Path,
) -> None:
    if envol_context.settings.database_url.startswith("sqlite"):
        # Several minutes of faults and kills: run once, on the production database. SQLite's
        # claims and outbox are exercised by the in-process concurrency tests.
        pytest.skip("the worker-kill test runs on PostgreSQL")
    sandbox.disable_contract()  # faults on purpose: the contract is checked elsewhere
    sessions = envol_context.sessions
    scene = build_scene(sandbox, sessions, people=WAVE, existing_every=3)
    with sessions() as session:
        emails = {p.id: p.email for p in session.scalars(select(Person))}
    existing = set(scene.existing_user_ids)
    newcomers = [pid for pid in scene.person_ids if pid not in existing]
    beat = Celery("beat-under-test", broker=workers.env["ENVOL_BROKER_URL"])

    ticks = [0]

    def tick() -> None:
        ticks[0] += 1
        for name in ("invitations.dispatch", "onboarding.cycle"):
            beat.send_task(name)
            if ticks[0] % 5 == 0:
                beat.send_task(name)  # a duplicate beat

    def faults_on() -> None:
        sandbox.set_faults(error_rate=0.2, drop_rate=0.05, seed=11)
        sandbox.set_rate_limit(20, burst=20)

    def state_count(*states: InvitationState) -> int:
        with sessions() as session:
            return (
                session.scalar(
                    select(func.count(Invitation.id)).where(Invitation.state.in_(states))
                )
                or 0
            )

    def explain() -> str:
        with sessions() as session:
            rows = session.execute(
                select(
                    Invitation.state,
                    Invitation.attempts,
                    Invitation.last_error,
                    Invitation.due_at,
                    Invitation.lease_owner,
                ).where(
                    Invitation.state != InvitationState.ACTIVATED,
                    Invitation.state != InvitationState.SENT,
                )
            ).all()
        return "; ".join(str(tuple(r)) for r in rows[:10])

    faults_on()
    workers.start("a")
    workers.start("b")
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        _wait(
            lambda: len(smtp_server.messages) >= len(newcomers) // 3,
            tick,
            deadline,
            "a third of the e-mails",
        )
        workers.kill("a")
        workers.start("a")
        _wait(
            lambda: len(smtp_server.messages) >= 2 * len(newcomers) // 3,
            tick,
            deadline,
            "two thirds of the e-mails",
        )
        workers.kill("a")
        workers.start("a")
        _wait(
            lambda: state_count(InvitationState.PLANNED) == 0,
            tick,
            deadline,
            "every invitation sent",
        )
        # 40 % of the newcomers accept (faults paused: the sign-ups are the test's, not Envol's).
        sandbox.clear_faults()
        sandbox.set_rate_limit(None)
        accepting = newcomers[: int(len(newcomers) * 0.4)]
        for pid in accepting:
            sandbox.accept_invite(email=emails[pid], invite_id=scene.team["invite_id"])
        faults_on()
        expected_active = len(existing) + len(accepting)
        _wait(
            lambda: state_count(InvitationState.ACTIVATED) == expected_active,
            tick,
            deadline,
            "every arrival activated",
        )
    finally:
        sandbox.clear_faults()
        sandbox.set_rate_limit(None)

    assert workers.kills == 2
    faults = [e for e in sandbox.request_log if e.fault]
    assert {e.fault for e in faults} >= {"error", "drop"}  # the faults really happened
    assert any(e.status == 429 for e in sandbox.request_log)

    # E-mails: every newcomer got exactly one message (one Message-ID); a second copy of the
    # same message only for a kill that fell between the relay's 250 and the journal's commit.
    message_ids: dict[str, set[str]] = {}
    for message in smtp_server.messages:
        message_ids.setdefault(recipients([message]).popitem()[0], set()).add(
            str(message["Message-ID"])
        )
    assert set(message_ids) == {emails[pid] for pid in newcomers}, "an invitation was lost"
    assert all(len(ids) == 1 for ids in message_ids.values()), "an invitation went twice"
    copies = len(smtp_server.messages) - len(message_ids)
    assert copies <= workers.kills
    with sessions() as session:
        unfinished = dict(
            session.execute(
                select(OutboundMessage.state, func.count())
                .where(OutboundMessage.state != OutboundState.SENT)
                .group_by(OutboundMessage.state)
            ).all()
        )
        states = dict(
            session.execute(select(Invitation.state, func.count()).group_by(Invitation.state)).all()
        )
    assert unfinished == {}  # nothing uncertain, failed or left "sending"
    assert states == {
        InvitationState.ACTIVATED: len(existing) + len(accepting),
        InvitationState.SENT: len(newcomers) - len(accepting),
    }

    # DMs and memberships: exactly one welcome per arrival, everyone in the team and channels.
    welcomes = markers(sandbox, "welcome:")
    assert set(welcomes.values()) == {1}, "a welcome went twice"
    assert {int(key.split(":")[1]) for key in welcomes} == existing | set(accepting)
    with sessions() as session:
        joined_ids = set(
            session.scalars(
                select(Invitation.mattermost_user_id).where(
                    Invitation.state == InvitationState.ACTIVATED
                )
            )
        )
    assert joined_ids <= sandbox.team_member_ids(scene.team["id"])
    for name in WAVE_CHANNELS:
        assert joined_ids <= sandbox.channel_member_ids(scene.channels[name])
