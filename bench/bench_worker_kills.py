"""Killed workers: SIGKILL the worker at random points of a 5,000-person wave and of a campaign
e-mail step, restart it, and count what arrived: every invitation, welcome DM and e-mail must
exist exactly once.

A real ``envol worker --pool solo`` process runs against the sandbox, a local SMTP server and
a sqla+sqlite broker; the bench plays the beat (``send_task`` every second, with a short
``expires`` as the real beat has). The database is PostgreSQL when one answers on
127.0.0.1:5432 (a throwaway database, dropped afterwards), else a SQLite file.

All processes share a simulated clock (``ENVOL_CLOCK_FILE``) that runs at real speed; it starts
just after the campaign's first e-mail step is due. A kill happens when the delivered count
crosses a random threshold (seeded, one in each equal stretch of the work), then after a random
pause of up to 0.2 s timed by another process, so it lands wherever the worker happens to be.
The worker then stays down for 12 simulated minutes (longer than every lease, so its rows are
taken back at once and no live worker is ever overtaken) and is restarted.

1. The wave: one person in three is already on Mattermost (added to the team and channels,
   welcomed by DM); the others get Envol's invitation e-mail; once every invitation went out,
   40 % of them sign up and are welcomed. Three kills, anywhere in that.
2. The campaign: ``teaser-1`` of ``seed_content/campaign/`` (an e-mail to everyone on the
   roster) becomes due; two kills while it goes out.

Figures, for each kind of message: recipients reached / expected (1.00 = nothing lost);
copies received / distinct messages (1.00 = nothing doubled; a copy re-sent after a kill
carries the same Message-ID, which mail stores collapse); distinct Message-IDs / recipients
reached (1.00 = nobody got two different e-mails); and the wall time against the same run
without kills.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import func, insert, select, update

from bench import (
    WORKER_CHANNELS,
    WORKER_TEAM,
    Figure,
    bounded_duplicates,
    duplicates,
    throwaway_database,
    worker_team,
)
from plugin import clock
from plugin.campaigns.models import CampaignDelivery, DeliveryStatus
from plugin.campaigns.plan import load_plan
from plugin.cohorts.models import Cohort, CohortKind, CohortMember, Wave, WaveHandoff, WaveStatus
from plugin.db import make_engine, make_session_factory, transaction
from plugin.delivery.models import OutboundMessage, OutboundState
from plugin.demo.mail_catcher import MailCatcher
from plugin.demo.sandbox_people import accept_invite
from plugin.invitations.models import Invitation, InvitationState
from plugin.invitations.service import plan_wave_invitations
from plugin.mail.config import SmtpConfig
from plugin.models import metadata
from plugin.people.models import Language, Person, PersonRole
from plugin.sandbox import Sandbox
from plugin.settings import runtime_settings_from_config

NAME = "worker_kills"
PROJECT = Path(__file__).resolve().parent.parent
TEAM, CHANNELS = WORKER_TEAM, WORKER_CHANNELS
CAMPAIGN_STEP = "teaser-1"
ACCEPTING_SHARE = 0.4
# Longer than the invitation lease (10 min) and the campaign's (10 min): a restarted worker
# takes the dead one's rows back at once.
DOWNTIME = dt.timedelta(minutes=12)


# --------------------------------------------------------------------------- infrastructure


class SimulatedClock:
    """The file every process reads ``now`` from: real speed from ``start``, plus the jumps."""

    def __init__(self, path: Path, start: dt.datetime) -> None:
        self.source = clock.SharedFileClock(str(path))
        self.path = path
        self._start, self._began, self._jumped = start, time.monotonic(), dt.timedelta()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._write()
        self._thread = threading.Thread(target=self._run, name="bench-clock", daemon=True)
        self._thread.start()

    def _write(self) -> None:
        with self._lock:
            elapsed = dt.timedelta(seconds=time.monotonic() - self._began)
            self.source.set(self._start + elapsed + self._jumped)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._write()

    def jump(self, delta: dt.timedelta) -> None:
        with self._lock:
            self._jumped += delta
        self._write()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class Worker:
    """One ``envol worker --pool solo`` process, killed and restarted by the bench."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log.open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "plugin.cli", "worker", "--pool", "solo"],
                env=self.env,
                cwd=PROJECT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the worker exited by itself ({self.process.returncode}):\n{tail}")

    def kill(self, after: float) -> None:
        """SIGKILL after ``after`` seconds, timed by another process, so that when it lands
        does not depend on how this process (the SMTP server's and the sandbox's host)
        schedules its threads."""
        assert self.process is not None
        subprocess.run(
            ["sh", "-c", f"sleep {after:.3f}; kill -KILL {self.process.pid}"], check=True
        )
        self.process.wait(timeout=30)
        self.process = None
        self.kills += 1

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Mailbox:
    """What the SMTP server received, by kind: recipient → Message-ID → copies."""

    catcher: MailCatcher
    seen: int = 0
    invitations: dict[str, Counter[str]] = field(default_factory=dict)
    campaign: dict[str, Counter[str]] = field(default_factory=dict)

    def update(self) -> None:
        messages = self.catcher.messages
        while self.seen < len(messages):
            message = messages[self.seen]
            self.seen += 1
            recipient = parseaddr(str(message["To"]))[1].lower()
            box = self.invitations if message["X-Envol-Key"] else self.campaign
            box.setdefault(recipient, Counter())[str(message["Message-ID"])] += 1


def _welcomes(sandbox: Sandbox) -> Counter[str]:
    """Live welcome DMs, by their marker (``welcome:<person>``)."""
    with sandbox.state.lock:
        posts = list(sandbox.state.posts.values())
    return Counter(
        marker
        for post in posts
        if not post.get("delete_at")
        and (marker := str((post.get("props") or {}).get("envol_marker", ""))).startswith(
            "welcome:"
        )
    )


@dataclass
class WelcomeCounter:
    """Welcome DMs posted so far, read incrementally: the sandbox's lock is held for a copy of
    the posts only, so looking often does not slow the server down."""

    sandbox: Sandbox
    seen: int = 0
    markers: set[str] = field(default_factory=set)

    def count(self) -> int:
        with self.sandbox.state.lock:
            fresh = list(self.sandbox.state.posts.values())[self.seen :]
        self.seen += len(fresh)
        for post in fresh:
            marker = str((post.get("props") or {}).get("envol_marker", ""))
            if marker.startswith("welcome:"):
                self.markers.add(marker)
        return len(self.markers)


# --------------------------------------------------------------------------- the scene


@dataclass
class Scene:
    emails: dict[int, str]  # person id → address
    existing: set[int]
    newcomers: list[int]
    accepting: list[int]
    invite_id: str


def _scene(sandbox: Sandbox, sessions: Any, people: int) -> Scene:
    team = worker_team(sandbox, max_users=people + 100)
    with transaction(sessions) as session:
        session.execute(
            insert(Person),
            [
                {
                    "email": f"person{n}@acme.test",
                    "first_name": f"Prénom{n}",
                    "last_name": f"Nom{n}",
                    "department": f"Département {n % 12}",
                    "site": f"Site {n % 5}",
                    "language": Language.EN if n % 4 == 0 else Language.FR,
                }
                for n in range(people)
            ],
        )
        emails = dict(session.execute(select(Person.id, Person.email)).all())
        ids = sorted(emails)
        # One manager per ten people: the plan's manager message needs an audience.
        session.execute(
            update(Person),
            [{"id": i, "role": PersonRole.MANAGER} for i in ids[::10]]
            + [{"id": i, "manager_id": ids[n - n % 10]} for n, i in enumerate(ids) if n % 10],
        )
        cohort = Cohort(name="Vague 1", kind=CohortKind.WAVE)
        session.add(cohort)
        session.flush()
        wave = Wave(name="vague-1", cohort_id=cohort.id, status=WaveStatus.OPEN, channels=CHANNELS)
        session.add(wave)
        session.flush()
        session.execute(
            insert(CohortMember),
            [{"cohort_id": cohort.id, "person_id": i, "reason": "wave"} for i in ids],
        )
        session.execute(insert(WaveHandoff), [{"wave_id": wave.id, "person_id": i} for i in ids])
        plan_wave_invitations(session, wave.id)
    existing = {pid for index, pid in enumerate(ids) if index % 3 == 0}
    for pid in sorted(existing):
        sandbox.create_user(f"user{pid}", email=emails[pid], first_name="Prénom", locale="fr")
    newcomers = [pid for pid in ids if pid not in existing]
    return Scene(
        emails=emails,
        existing=existing,
        newcomers=newcomers,
        accepting=newcomers[: int(len(newcomers) * ACCEPTING_SHARE)],
        invite_id=team["invite_id"],
    )


def _campaign_start() -> dt.datetime:
    """Just after the campaign step is due, for the manifest's default launch date."""
    plan = load_plan()
    launch = runtime_settings_from_config({}).launch_date
    return plan.step(CAMPAIGN_STEP).due_at(launch, plan.timezone) + dt.timedelta(minutes=2)


# --------------------------------------------------------------------------- one run


@dataclass
class Outcome:
    database: str
    wave_seconds: float
    campaign_seconds: float
    mailbox: Mailbox
    welcomes: Counter[str]
    scene: Scene
    invitation_states: dict[InvitationState, int]
    delivery_states: dict[DeliveryStatus, int]
    uncertain: int
    kills: list[str]
    timeouts: list[str]
    log_tail: str
    campaign_connections: int  # SMTP connections the worker's campaign sends on at most


class _Run:
    def __init__(self, people: int, wave_kills: int, campaign_kills: int, seed: int) -> None:
        self.people = people
        self.rng = random.Random(seed)
        self.wave_kills, self.campaign_kills = wave_kills, campaign_kills
        self.kill_notes: list[str] = []
        self.timeouts: list[str] = []
        self.deadline_seconds = 60 + people * 0.3

    def go(self) -> Outcome:
        with tempfile.TemporaryDirectory(prefix="envol-bench-kills-") as tmp:
            workdir = Path(tmp)
            sim = SimulatedClock(workdir / "clock", _campaign_start())
            clock.set_source(sim.source)  # the sandbox and the scene live at the same moment
            sandbox = Sandbox.start(contract=False)
            mail = MailCatcher.start()
            try:
                with throwaway_database(workdir) as (url, label):
                    return self._go(workdir, sim, sandbox, mail, url, label)
            finally:
                mail.stop()
                sandbox.stop()
                clock.reset()
                sim.stop()

    def _go(
        self,
        workdir: Path,
        sim: SimulatedClock,
        sandbox: Sandbox,
        mail: MailCatcher,
        url: str,
        label: str,
    ) -> Outcome:
        engine = make_engine(url)
        metadata.create_all(engine)
        self.sessions = make_session_factory(engine)
        self.sandbox, self.sim = sandbox, sim
        scene = _scene(sandbox, self.sessions, self.people)
        broker = f"sqla+sqlite:///{workdir / 'broker.db'}"
        self.worker = Worker(
            {
                **os.environ,
                "ENVOL_DATABASE_URL": url,
                "ENVOL_BROKER_URL": broker,
                "ENVOL_MATTERMOST_URL": sandbox.url,
                "ENVOL_MATTERMOST_TOKEN": sandbox.admin_token,
                "ENVOL_SMTP_URL": mail.url,
                "ENVOL_MAIL_FROM": "Envol <envol@acme.test>",
                "ENVOL_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnop",
                "ENVOL_CLOCK_FILE": str(sim.path),
            },
            workdir / "worker.log",
        )
        self.beat = Celery("bench-beat", broker=broker)
        self.beat.conf.broker_transport_options = {"connect_args": {"timeout": 30}}
        self.mailbox = Mailbox(mail)
        try:
            self.worker.start()
            wave_seconds = self._wave(scene)
            campaign_seconds = self._campaign()
        finally:
            self.worker.stop()
            self.beat.close()
        with self.sessions() as session:
            invitation_states = dict(
                session.execute(
                    select(Invitation.state, func.count()).group_by(Invitation.state)
                ).all()
            )
            delivery_states = dict(
                session.execute(
                    select(CampaignDelivery.status, func.count()).group_by(CampaignDelivery.status)
                ).all()
            )
            uncertain = session.scalar(
                select(func.count(OutboundMessage.id)).where(
                    OutboundMessage.state == OutboundState.UNCERTAIN
                )
            )
        engine.dispose()
        self.mailbox.update()
        return Outcome(
            database=label,
            wave_seconds=wave_seconds,
            campaign_seconds=campaign_seconds,
            mailbox=self.mailbox,
            welcomes=_welcomes(sandbox),
            scene=scene,
            invitation_states=invitation_states,  # type: ignore[arg-type]
            delivery_states=delivery_states,  # type: ignore[arg-type]
            uncertain=int(uncertain or 0),
            kills=self.kill_notes,
            timeouts=self.timeouts,
            log_tail=self.worker.log.read_text(errors="replace")[-4000:] if self.timeouts else "",
            campaign_connections=SmtpConfig.from_url(mail.url).connections,
        )

    # ------------------------------------------------------------------ driving

    def _tick(self, tasks: tuple[str, ...]) -> None:
        for name in tasks:
            # A tick left waiting behind a long task is dropped, as the real beat's are.
            self.beat.send_task(name, expires=5)

    def _drive(
        self,
        tasks: tuple[str, ...],
        progress: Callable[[], int],
        total: int,
        kills: int,
        done: Callable[[], bool],
        what: str,
        between: Callable[[], None] = lambda: None,
    ) -> float:
        """Tick until ``done``, killing the worker when ``progress`` crosses each threshold."""
        # One random point in each of ``kills`` equal stretches of the work, so that kills are
        # spread over its kinds (e-mails, then welcomes) instead of bunching by chance.
        width = 0.85 / max(kills, 1)
        thresholds = [
            int(total * self.rng.uniform(0.05 + k * width, 0.05 + (k + 1) * width))
            for k in range(kills)
        ]
        began = time.monotonic()
        deadline = began + self.deadline_seconds
        last_tick = last_look = 0.0
        while True:
            # The sandbox and the SMTP server share this process: look often only while a
            # kill is pending (it must land mid-work), and check the end twice a second.
            if time.monotonic() - last_look > 0.5:
                last_look = time.monotonic()
                if done():
                    break
                if last_look > deadline:
                    self.timeouts.append(what)
                    break
                self.worker.check_alive()
                between()
            if thresholds and progress() >= thresholds[0]:
                self.kill_notes.append(f"{what}: at {progress():,}/{total:,}")
                self.worker.kill(after=self.rng.uniform(0, 0.2))  # anywhere in what it does
                self.sim.jump(DOWNTIME)
                self.worker.start()
                thresholds.pop(0)
            if time.monotonic() - last_tick > 1.0:
                self._tick(tasks)
                last_tick = time.monotonic()
            time.sleep(0.1 if thresholds else 0.25)
        elapsed = time.monotonic() - began
        # A late duplicate would show up now: a few more ticks before counting.
        settle = time.monotonic() + 3
        while time.monotonic() < settle:
            self._tick(tasks)
            time.sleep(1)
        return elapsed

    def _count(self, state: InvitationState) -> int:
        with self.sessions() as session:
            return int(
                session.scalar(select(func.count(Invitation.id)).where(Invitation.state == state))
                or 0
            )

    def _wave(self, scene: Scene) -> float:
        expected_welcomes = len(scene.existing) + len(scene.accepting)
        accepted = [False]
        welcomed = WelcomeCounter(self.sandbox)

        def progress() -> int:
            self.mailbox.update()
            return len(self.mailbox.invitations) + welcomed.count()

        def accept_once_sent() -> None:
            # The sign-ups follow the invitations, as people do.
            if accepted[0] or self._count(InvitationState.PLANNED):
                return
            for pid in scene.accepting:
                accept_invite(self.sandbox, email=scene.emails[pid], invite_id=scene.invite_id)
            accepted[0] = True

        def done() -> bool:
            return (
                accepted[0]
                and self._count(InvitationState.ACTIVATED) == expected_welcomes
                and self._count(InvitationState.JOINED) == 0
            )

        return self._drive(
            ("invitations.dispatch", "onboarding.cycle"),
            progress,
            len(scene.newcomers) + expected_welcomes,
            self.wave_kills,
            done,
            "wave",
            between=accept_once_sent,
        )

    def _campaign(self) -> float:
        def progress() -> int:
            self.mailbox.update()
            return len(self.mailbox.campaign)

        def done() -> bool:
            with self.sessions() as session:
                sent = session.scalar(
                    select(func.count(CampaignDelivery.id)).where(
                        CampaignDelivery.status == DeliveryStatus.SENT
                    )
                )
            return sent == self.people

        return self._drive(
            ("campaigns.dispatch",), progress, self.people, self.campaign_kills, done, "campaign"
        )


# --------------------------------------------------------------------------- figures


def _email_counts(box: dict[str, Counter[str]], expected: set[str]) -> tuple[int, int, int]:
    """(recipients reached, distinct (recipient, Message-ID) pairs, copies received)."""
    reached = sum(1 for recipient in box if recipient in expected)
    distinct = sum(len(ids) for ids in box.values())
    copies = sum(sum(ids.values()) for ids in box.values())
    return reached, distinct, copies


def _email_figures(
    label: str,
    box: dict[str, Counter[str]],
    expected: set[str],
    tag: str,
    *,
    kills: int,
    connections: int,
) -> list[Figure]:
    """Reached, and copies against the documented bound: Envol's e-mails are sent at least
    once with one Message-ID, and a kill re-sends at most one message a connection (the one
    accepted by the relay and not yet journalled; ``plugin/delivery/mail_pool.py``)."""
    reached, distinct, copies = _email_counts(box, expected)
    why = (
        f"{_kills(kills)} × {connections} SMTP connection{'s' if connections != 1 else ''}: "
        "at most one copy a connection a kill, same Message-ID, as documented"
    )
    return [
        Figure(NAME, f"{label}, {tag}: recipients reached", reached, len(expected),
               "recipients expected", "e-mails", goal_min=1),
        bounded_duplicates(NAME, f"{label}, {tag}: copies of one message (same Message-ID)",
                           copies, distinct, "e-mails", kills * connections, why),
        duplicates(NAME, f"{label}, {tag}: one recipient, two messages (distinct Message-IDs)",
                   distinct, reached, "e-mails"),
    ]  # fmt: skip


def _summary(outcome: Outcome) -> str:
    """One line of what arrived, to compare the two runs at a glance."""
    scene = outcome.scene
    invitations = _email_counts(
        outcome.mailbox.invitations, {scene.emails[pid] for pid in scene.newcomers}
    )
    campaign = _email_counts(outcome.mailbox.campaign, set(scene.emails.values()))
    return (
        f"invitation e-mails {invitations[0]:,}/{len(scene.newcomers):,} reached, "
        f"extra copies: {invitations[2] - invitations[1]}; welcome DMs "
        f"{len(outcome.welcomes):,}/{len(scene.existing) + len(scene.accepting):,}, "
        f"extra: {sum(outcome.welcomes.values()) - len(outcome.welcomes)}; campaign e-mails "
        f"{campaign[0]:,}/{len(scene.emails):,}, extra copies: {campaign[2] - campaign[1]}; "
        f"outbox rows left uncertain: {outcome.uncertain}"
    )


def _kills(count: int) -> str:
    return f"{count} kill{'s' if count != 1 else ''}"


def run(quick: bool) -> list[Figure]:
    people = 500 if quick else 5_000
    wave_kills, campaign_kills = (1, 1) if quick else (3, 2)
    killed = _Run(people, wave_kills, campaign_kills, seed=20261127).go()
    calm = _Run(people, 0, 0, seed=20261127).go()
    print(f"  database: {killed.database}")
    for note in killed.kills:
        print(f"  SIGKILL in the {note}")
    for what in killed.timeouts + [f"{w} (no-kill run)" for w in calm.timeouts]:
        print(f"  timed out waiting for the end of the {what}: the figures count what arrived")
    print(f"  with kills: {_summary(killed)}")
    print(f"  without kills: {_summary(calm)}")
    for outcome in (killed, calm):
        if outcome.log_tail:
            print(f"  worker log, last lines:\n{outcome.log_tail}")
    scene = killed.scene
    wave_tag = f"wave of {people:,}, {_kills(wave_kills)}, {killed.database}"
    campaign_tag = f"campaign to {people:,}, {_kills(campaign_kills)}, {killed.database}"
    invitations_expected = {scene.emails[pid] for pid in scene.newcomers}
    welcomes_expected = {f"welcome:{pid}" for pid in scene.existing | set(scene.accepting)}
    welcomes = killed.welcomes
    activated = killed.invitation_states.get(InvitationState.ACTIVATED, 0)
    kills_in = Counter(note.split(":", 1)[0] for note in killed.kills)  # the kills that happened
    figures = _email_figures(
        "invitation e-mails",
        killed.mailbox.invitations,
        invitations_expected,
        wave_tag,
        kills=kills_in["wave"],
        connections=1,  # the outbox's JournalledMailer: one connection
    )
    figures += [
        Figure(NAME, f"welcome DMs, {wave_tag}: people welcomed",
               len(set(welcomes) & welcomes_expected), len(welcomes_expected),
               "people expected", "DMs", goal_min=1),
        duplicates(NAME, f"welcome DMs, {wave_tag}: posts", sum(welcomes.values()),
                   len(welcomes), "DMs"),
        Figure(NAME, f"invitations, {wave_tag}: activated", activated, len(welcomes_expected),
               "people on Mattermost at the end", "invitations", goal_min=1),
    ]  # fmt: skip
    figures += _email_figures(
        "campaign e-mails",
        killed.mailbox.campaign,
        set(scene.emails.values()),
        campaign_tag,
        kills=kills_in["campaign"],
        connections=killed.campaign_connections,
    )
    figures += [
        Figure(NAME, f"wall time, {wave_tag}", killed.wave_seconds, calm.wave_seconds,
               "the same wave without kills", "s"),
        Figure(NAME, f"wall time, {campaign_tag}", killed.campaign_seconds,
               calm.campaign_seconds, "the same campaign without kills", "s"),
    ]  # fmt: skip
    return figures
