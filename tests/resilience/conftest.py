"""The resilience harness: servers a test may break (a private redis-server, an SMTP relay that
can go away), real ``envol worker`` processes, a beat played by the test, and readers of what
was really delivered (the SMTP server's record, the sandbox's posts, the database).

The machine's shared PostgreSQL is never stopped: database faults end connections instead
(``pg_terminate_backend``). Servers that are stopped or restarted are private to the test.
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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from celery import Celery
from kombu.exceptions import OperationalError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from plugin.app import EnvolContext
from plugin.invitations.models import Invitation, InvitationState
from plugin.people.models import Person
from plugin.sandbox import Sandbox
from tests.conftest import IN_CI
from tests.invitations.world import Scene, build_scene, markers
from tests.support.smtp import RecordingHandler, free_port

REDIS_SERVER = shutil.which("redis-server")
# What the beat sends every minute in production; the test sends it every second.
BEAT_TASKS = ("invitations.dispatch", "onboarding.cycle")
TICK_SECONDS = 1.0
# A tick nobody took within this long is dropped by the worker, as the real beat's are (55 s).
TICK_EXPIRES_SECONDS = 30


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


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if REDIS_SERVER is None:
        if IN_CI:
            pytest.fail("redis-server is not installed; CI must provide it")
        pytest.skip("redis-server is not installed: these tests need a broker they can break")
    server = PrivateRedis(REDIS_SERVER, free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- an SMTP relay


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


@pytest.fixture
def switchable_smtp() -> Iterator[SwitchableSmtp]:
    relay = SwitchableSmtp()
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()


# --------------------------------------------------------------------------- workers


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
        "ENVOL_SECRET_KEY": "test-secret-key-0123456789",
        # Rows a dead task left leased are taken over after this, not after ten minutes.
        "ENVOL_INVITATION_LEASE_SECONDS": str(lease_seconds),
    }


@dataclass
class WorkerPool:
    """``envol worker`` processes (prefork, as in production), each logging to a file."""

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log_path(self, name: str) -> Path:
        return self.workdir / f"worker-{name}.log"

    def start(self, name: str, *, concurrency: int = 2) -> None:
        with self.log_path(name).open("ab") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "plugin.cli", "worker", "--concurrency", str(concurrency)],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: a stuck worker is stopped with its pool children.
                start_new_session=True,
            )

    def wait_ready(self, *names: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for name in names:
            while " ready." not in self.log(name):
                if not self.alive(name):
                    raise AssertionError(f"worker {name} exited at start:\n{self.log(name)}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"worker {name} not ready:\n{self.log(name)}")
                time.sleep(0.1)

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


@pytest.fixture
def worker_pool(tmp_path: Path) -> Iterator[WorkerPool]:
    pool = WorkerPool(tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


# --------------------------------------------------------------------------- the beat


class Beat:
    """The production beat's minute ticks, sent every second by the test. A tick the broker
    refuses (it is down) is counted and dropped, as a real beat's would be."""

    def __init__(self, broker_url: str) -> None:
        self.app = Celery("beat-under-test", broker=broker_url)
        # Fail fast while the broker is down: the next tick comes a second later anyway.
        self.app.conf.broker_connection_timeout = 1
        self.refused = 0
        self._last = 0.0

    def tick(self) -> None:
        for name in BEAT_TASKS:
            try:
                self.app.send_task(
                    name,
                    expires=TICK_EXPIRES_SECONDS,
                    retry_policy={"max_retries": 1, "interval_start": 0.2},
                )
            except OperationalError:
                self.refused += 1
        self._last = time.monotonic()

    def maybe_tick(self) -> None:
        if time.monotonic() - self._last >= TICK_SECONDS:
            self.tick()

    def close(self) -> None:
        self.app.close()


@pytest.fixture
def beat_for() -> Iterator[Callable[[str], Beat]]:
    beats: list[Beat] = []

    def make(broker_url: str) -> Beat:
        beats.append(Beat(broker_url))
        return beats[-1]

    try:
        yield make
    finally:
        for beat in beats:
            beat.close()


def wait_until(
    condition: Callable[[], bool],
    beat: Beat,
    deadline: float,
    what: str,
    explain: Callable[[], str] = lambda: "",
    workers: WorkerPool | None = None,
) -> None:
    """Keep the beat ticking until ``condition`` holds; look often, so a fault can be injected
    at the moment the condition turns true (e.g. a third of the e-mails out). A worker that
    exits meanwhile fails the wait at once, with the end of its log (the crash)."""
    while not condition():
        if workers is not None:
            for name in workers.processes:
                if not workers.alive(name):
                    raise AssertionError(
                        f"worker {name} exited while waiting for {what}:\n"
                        + workers.log(name)[-4000:]
                    )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; {explain()}")
        beat.maybe_tick()
        time.sleep(0.05)


def tick_for(seconds: float, beat: Beat, during: Callable[[], None] = lambda: None) -> None:
    """Keep the beat ticking for ``seconds``, calling ``during`` between looks."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        beat.maybe_tick()
        during()
        time.sleep(0.05)


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


def launch_wave(
    sandbox: Sandbox, sessions: sessionmaker[Session], *, people: int, existing_every: int
) -> Wave:
    scene = build_scene(sandbox, sessions, people=people, existing_every=existing_every)
    with sessions() as session:
        emails = {p.id: p.email for p in session.scalars(select(Person))}
    existing = set(scene.existing_user_ids)
    newcomers = [pid for pid in scene.person_ids if pid not in existing]
    return Wave(scene=scene, emails=emails, newcomers=newcomers, existing=existing)


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
