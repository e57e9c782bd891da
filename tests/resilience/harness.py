"""The resilience harness: servers a test may break (a private redis-server, an SMTP relay that
can go away), real ``envol worker`` processes, a beat played by the test, and readers of what
was really delivered (the SMTP server's record, the sandbox's posts, the database).

The machine's shared PostgreSQL is never stopped: database faults end connections instead
(``pg_terminate_backend``). Servers that are stopped or restarted are private to the test.

A plain module, so that it can be imported like any other; the fixtures over it are in this
folder's ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from aiosmtpd.controller import Controller
from celery import Celery
from kombu.exceptions import OperationalError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from plugin.app import EnvolContext
from plugin.delivery.models import OutboundMessage, OutboundState
from plugin.demo.sandbox_people import accept_invite
from plugin.invitations.models import Invitation, InvitationState
from plugin.people.models import Person
from plugin.sandbox import Sandbox
from tests.helpers.smtp import RecordingHandler, free_port
from tests.invitations.world import Scene, build_scene, markers

REDIS_SERVER = shutil.which("redis-server")
# What the beat sends every minute in production; the test sends it every second.
BEAT_TASKS = ("invitations.dispatch", "onboarding.cycle")
TICK_SECONDS = 1.0
# A tick nobody took within this long is dropped by the worker, as the real beat's are (55 s).
TICK_EXPIRES_SECONDS = 30
# A wave a fault can be dropped into the middle of: 71 already on Mattermost (one in three, and
# the managers), 139 to e-mail. E-mails paced by the relay option ``rate`` take about six
# seconds, so a fault injected once a third are out lands while they are going out instead of
# racing a sub-second burst.
MID_WAVE_PEOPLE = 210
MID_WAVE_EXISTING_EVERY = 3
MID_WAVE_SMTP_RATE = 25


# --------------------------------------------------------------------------- a private Redis


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class PrivateRedis:
    """A redis-server of the test's own, on a fixed port, that the test may kill and restart.
    Nothing is persisted: a restart loses every queued task, as a crashed broker without
    persistence does, and the beat's next ticks are all the workers get."""

    def __init__(self, binary: str, port: int, workdir: Path) -> None:
        self.binary, self.port, self.workdir = binary, port, workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with (self.workdir / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--daemonize", "no",
                    "--dir", str(self.workdir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while not _answers_ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}; see redis.log")
            time.sleep(0.05)
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: the broker crashes, with the workers' connections open."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


# --------------------------------------------------------------------------- SMTP relays


class Relay(Protocol):
    """An SMTP server the workers send to, and its record of the messages it accepted."""

    @property
    def url(self) -> str: ...

    @property
    def messages(self) -> list[EmailMessage]: ...


class SwitchableSmtp:
    """An SMTP relay on a fixed port that can be switched off (connections are refused, open
    sessions are cut) and on again; one record of messages across the restarts."""

    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    def start(self) -> None:
        self._controller = Controller(
            self.handler, hostname=self.host, port=self.port, ready_timeout=10
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


# --------------------------------------------------------------------------- workers


WORKER_APPLICATION_NAME = "envol-test-worker"


def worker_environment(
    context: EnvolContext, sandbox: Sandbox, *, broker_url: str, smtp_url: str, lease_seconds: int
) -> dict[str, str]:
    return {
        **os.environ,
        "ENVOL_DATABASE_URL": context.settings.database_url,
        "ENVOL_BROKER_URL": broker_url,
        "ENVOL_MATTERMOST_URL": sandbox.url,
        "ENVOL_MATTERMOST_TOKEN": sandbox.admin_token,
        "ENVOL_SMTP_URL": smtp_url,
        "ENVOL_MAIL_FROM": "Envol <envol@acme.test>",
        "ENVOL_SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnop",
        # Rows a dead task left leased are taken over after this, not after ten minutes.
        "ENVOL_INVITATION_LEASE_SECONDS": str(lease_seconds),
        # libpq names the workers' connections, so an outage test can tell them from its own.
        "PGAPPNAME": WORKER_APPLICATION_NAME,
    }


@dataclass
class WorkerPool:
    """``envol worker`` processes (prefork, as in production, unless told otherwise), each
    logging to a file."""

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kills: int = 0

    def log_path(self, name: str) -> Path:
        return self.workdir / f"worker-{name}.log"

    def start(self, name: str, *, concurrency: int = 2, pool: str = "prefork") -> None:
        """Start worker ``name``, or a new one in place of a dead one of that name."""
        with self.log_path(name).open("ab") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(
                [
                    sys.executable, "-m", "plugin.cli", "worker",
                    "--concurrency", str(concurrency),
                    "--pool", pool,
                ],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: a stuck worker is stopped with its pool children.
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, *names: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for name in names:
            while " ready." not in self.log(name):
                if not self.alive(name):
                    raise AssertionError(f"worker {name} exited at start:\n{self.log(name)}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"worker {name} not ready:\n{self.log(name)}")
                time.sleep(0.1)

    def kill(self, name: str) -> None:
        """SIGKILL the worker's main process: it dies mid-task, without a warm shutdown."""
        process = self.processes[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        self.kills += 1

    def log(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def alive(self, name: str) -> bool:
        return self.processes[name].poll() is None

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def worker_of(self, pid: int) -> str | None:
        """Which worker ``pid`` is, or belongs to (a prefork pool child), while it runs."""
        for name, process in self.processes.items():
            if process.pid in (pid, _parent_pid(pid)):
                return name
        return None

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()  # a warm shutdown: running tasks end first
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            # Pool children a crashed or killed worker left behind are in its process group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def _parent_pid(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^PPid:\s*(\d+)", status, re.MULTILINE)
    return int(found.group(1)) if found else None


# --------------------------------------------------------------------------- the beat


class Beat:
    """The production beat's minute ticks, sent every second by the test.

    ``broker_may_be_down``: a tick the broker refuses is counted in ``refused`` and dropped, as
    a real beat's would be; otherwise a refusal fails the test. ``expires_seconds``: a tick left
    unconsumed that long is dropped by the worker (None: never). ``duplicate_every``: every
    n-th tick is sent twice, as a duplicated beat would.
    """

    def __init__(
        self,
        broker_url: str,
        *,
        broker_may_be_down: bool = True,
        expires_seconds: float | None = TICK_EXPIRES_SECONDS,
        duplicate_every: int | None = None,
    ) -> None:
        self.app = Celery("beat-under-test", broker=broker_url)
        self.broker_may_be_down = broker_may_be_down
        self.retry_policy: dict[str, float] | None = None  # None: Celery's default
        if broker_may_be_down:
            # Fail fast while the broker is down: the next tick comes a second later anyway.
            self.app.conf.broker_connection_timeout = 1
            self.retry_policy = {"max_retries": 1, "interval_start": 0.2}
        self.expires_seconds = expires_seconds
        self.duplicate_every = duplicate_every
        self.ticks = 0
        self.refused = 0
        self._last = 0.0

    def tick(self) -> None:
        self.ticks += 1
        duplicated = self.duplicate_every is not None and self.ticks % self.duplicate_every == 0
        for name in BEAT_TASKS:
            for _ in range(2 if duplicated else 1):
                try:
                    self.app.send_task(
                        name, expires=self.expires_seconds, retry_policy=self.retry_policy
                    )
                except OperationalError:
                    if not self.broker_may_be_down:
                        raise
                    self.refused += 1
        self._last = time.monotonic()

    def maybe_tick(self) -> None:
        if time.monotonic() - self._last >= TICK_SECONDS:
            self.tick()

    def keep_ticking(self, seconds: float, during: Callable[[], None] = lambda: None) -> None:
        """Keep ticking for ``seconds``, calling ``during`` between looks."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.maybe_tick()
            during()
            time.sleep(0.05)

    def close(self) -> None:
        self.app.close()


# --------------------------------------------------------------------------- the wave


@dataclass
class Wave:
    scene: Scene
    emails: dict[int, str]  # person id -> address
    newcomers: list[int]  # to be invited by e-mail
    existing: set[int]  # already on Mattermost: added to the team and welcomed

    @property
    def newcomer_addresses(self) -> set[str]:
        return {self.emails[pid].lower() for pid in self.newcomers}

    def settled_states(self, accepted: int = 0) -> dict[InvitationState, int]:
        """The invitations' states once every newcomer is e-mailed and every arrival welcomed,
        ``accepted`` of the newcomers having signed up."""
        return {
            InvitationState.SENT: len(self.newcomers) - accepted,
            InvitationState.ACTIVATED: len(self.existing) + accepted,
        }


def launch_wave(
    sandbox: Sandbox, sessions: sessionmaker[Session], *, people: int, existing_every: int
) -> Wave:
    scene = build_scene(sandbox, sessions, people=people, existing_every=existing_every)
    with sessions() as session:
        emails = {p.id: p.email for p in session.scalars(select(Person))}
    existing = set(scene.existing_user_ids)
    newcomers = [pid for pid in scene.person_ids if pid not in existing]
    return Wave(scene=scene, emails=emails, newcomers=newcomers, existing=existing)


def accept_invitations(sandbox: Sandbox, wave: Wave, share: float) -> list[int]:
    """The first ``share`` of the newcomers sign up through the team's invite link; their ids."""
    accepting = wave.newcomers[: int(len(wave.newcomers) * share)]
    for pid in accepting:
        accept_invite(sandbox, email=wave.emails[pid], invite_id=wave.scene.team["invite_id"])
    return accepting


def state_counts(sessions: sessionmaker[Session]) -> dict[InvitationState, int]:
    counted = select(Invitation.state, func.count()).group_by(Invitation.state)
    with sessions() as session:
        return {state: count for state, count in session.execute(counted).all()}


def explain_states(sessions: sessionmaker[Session]) -> Callable[[], str]:
    def explain() -> str:
        with sessions() as session:
            rows = session.execute(
                select(
                    Invitation.id,
                    Invitation.state,
                    Invitation.attempts,
                    Invitation.last_error,
                    Invitation.due_at,
                    Invitation.lease_owner,
                    Invitation.lease_expires_at,
                ).where(Invitation.state.not_in([InvitationState.ACTIVATED, InvitationState.SENT]))
            ).all()
        return f"{len(rows)} unfinished, e.g. " + "; ".join(str(tuple(r)) for r in rows[:5])

    return explain


def unsettled_outbox(sessions: sessionmaker[Session]) -> dict[OutboundState, int]:
    """Outbox rows not sent, by state: uncertain, failed or left ``sending``. Empty when every
    e-mail the workers began was recorded sent."""
    counted = (
        select(OutboundMessage.state, func.count())
        .where(OutboundMessage.state != OutboundState.SENT)
        .group_by(OutboundMessage.state)
    )
    with sessions() as session:
        return {state: count for state, count in session.execute(counted).all()}


@dataclass
class WaveRun:
    """A wave going out through real workers, driven by the test's beat, against one deadline."""

    sessions: sessionmaker[Session]
    wave: Wave
    relay: Relay
    beat: Beat
    deadline: float
    # A worker of this pool that exits during a wait fails it at once, with the end of its log
    # (the crash); None: the workers are not watched.
    workers: WorkerPool | None

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        """Keep the beat ticking until ``condition`` holds; look often, so a fault can be
        injected at the moment the condition turns true (e.g. a third of the e-mails out)."""
        explain = explain_states(self.sessions)
        while not condition():
            if self.workers is not None:
                for name in self.workers.processes:
                    if not self.workers.alive(name):
                        raise AssertionError(
                            f"worker {name} exited while waiting for {what}:\n"
                            + self.workers.log(name)[-4000:]
                        )
            if time.monotonic() > self.deadline:
                raise AssertionError(f"timed out waiting for {what}; {explain()}")
            self.beat.maybe_tick()
            time.sleep(0.05)

    def wait_until_emailed(self, count: int, what: str) -> None:
        """Until the relay has accepted ``count`` e-mails."""
        self.wait_until(lambda: len(self.relay.messages) >= count, what)

    def wait_until_settled(
        self,
        what: str = "every newcomer e-mailed and every existing user welcomed",
        accepted: int = 0,
    ) -> None:
        expected = self.wave.settled_states(accepted)
        self.wait_until(lambda: state_counts(self.sessions) == expected, what)

    def wait_until_activated(self, count: int, what: str) -> None:
        self.wait_until(
            lambda: state_counts(self.sessions).get(InvitationState.ACTIVATED, 0) == count, what
        )

    def deliveries(self) -> Deliveries:
        """What the relay holds for the wave's newcomers."""
        return deliveries(self.relay.messages, self.wave.newcomer_addresses)


@dataclass
class WaveStarter:
    """Starts a wave on the test's broker: the scene, ``envol worker`` processes ready on it,
    the beat, and the deadline counted from there."""

    sandbox: Sandbox
    context: EnvolContext
    workers: WorkerPool
    beat_for: Callable[[str], Beat]
    broker_url: str

    def __call__(
        self,
        relay: Relay,
        *,
        lease_seconds: int,
        deadline_seconds: float,
        people: int = MID_WAVE_PEOPLE,
        existing_every: int = MID_WAVE_EXISTING_EVERY,
        smtp_rate: int = MID_WAVE_SMTP_RATE,
        worker_names: tuple[str, ...] = ("a",),
        concurrency: int = 2,
    ) -> WaveRun:
        sessions = self.context.sessions
        wave = launch_wave(self.sandbox, sessions, people=people, existing_every=existing_every)
        self.workers.env = worker_environment(
            self.context,
            self.sandbox,
            broker_url=self.broker_url,
            smtp_url=f"{relay.url}?rate={smtp_rate}",
            lease_seconds=lease_seconds,
        )
        for name in worker_names:
            self.workers.start(name, concurrency=concurrency)
        self.workers.wait_ready(*worker_names)
        beat = self.beat_for(self.broker_url)
        return WaveRun(
            sessions=sessions,
            wave=wave,
            relay=relay,
            beat=beat,
            deadline=time.monotonic() + deadline_seconds,
            workers=self.workers,
        )


# --------------------------------------------------------------------------- what was delivered


def message_ids_by_recipient(messages: Iterable[EmailMessage]) -> dict[str, list[str]]:
    """Address -> the Message-ID of every copy the relay accepted for it."""
    received: dict[str, list[str]] = {}
    for message in list(messages):
        address = parseaddr(str(message["To"]))[1].lower()
        received.setdefault(address, []).append(str(message["Message-ID"]))
    return received


@dataclass(frozen=True)
class Deliveries:
    """What the relay holds for a set of expected recipients."""

    missing: set[str]
    unexpected: set[str]
    several_message_ids: dict[str, list[str]]  # a second, different e-mail: a real duplicate
    extra_copies: dict[str, int]  # the same Message-ID more than once (collapsed by mail stores)


def deliveries(messages: Iterable[EmailMessage], expected: set[str]) -> Deliveries:
    received = message_ids_by_recipient(messages)
    return Deliveries(
        missing=expected - set(received),
        unexpected=set(received) - expected,
        several_message_ids={a: ids for a, ids in received.items() if len(set(ids)) > 1},
        extra_copies={
            a: len(ids) - len(set(ids)) for a, ids in received.items() if len(ids) > len(set(ids))
        },
    )


def welcomes(sandbox: Sandbox) -> dict[int, int]:
    """Person id -> how many welcome DMs are live in the sandbox."""
    return {int(key.split(":")[1]): count for key, count in markers(sandbox, "welcome:").items()}
