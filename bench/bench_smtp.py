"""E-mail throughput on a local aiosmtpd server (loopback, its own process), all measured here.

1. A campaign step (``teaser-1`` of the default plan) to 10,000 people (500 with --quick):
   the dispatcher plans, renders, claims, sends and records every e-mail (SQLite). Baseline:
   a raw ``smtplib`` loop sending messages of the same size over one connection, the limit of
   this machine's SMTP path as the issue defines it. Both make the same four round trips a
   message (MAIL, RCPT, DATA, the data; aiosmtpd offers no PIPELINING and smtplib would not use
   it). The campaign sends on the mailer's default number of connections
   (``SmtpConfig.connections``, said in the row), each acceptance journalled before that
   connection sends again; its own work (planning, rendering, journalling, recording) runs in
   the same process, under one GIL. The CPU time an e-mail costs the process, next to the raw
   loop's, says how much of the gap is work rather than waiting: with both cores busy elsewhere
   (a shared machine), throughput follows the CPU left over.
2. The mailer with one reused connection vs one connection per message (same messages).
"""

from __future__ import annotations

import datetime as dt
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from bench import Figure
from plugin import clock
from plugin.campaigns.dispatcher import CampaignDispatcher
from plugin.campaigns.models import CampaignDelivery, DeliveryStatus
from plugin.campaigns.plan import load_plan
from plugin.campaigns.rendering import RenderSettings
from plugin.db import make_engine, make_session_factory, transaction
from plugin.mail.config import SmtpConfig
from plugin.mail.message import Address, OutgoingEmail, deterministic_message_id, email_bytes
from plugin.mail.sender import SmtpMailer
from plugin.models import metadata
from plugin.people.models import Language, Person


def _message(number: int) -> OutgoingEmail:
    return OutgoingEmail(
        sender=Address("lancement@exemple.fr", "L'équipe du lancement"),
        recipient=Address(f"personne{number}@exemple.fr", f"Zoé Lefèvre {number}"),
        subject="Passerelle : notre nouvelle façon de travailler ensemble",
        text="Bonjour Zoé,\n\nLe lundi 1er mars 2027, Exemple SA ouvre Passerelle.\n" * 8,
        html="<p>Bonjour Zoé,</p><p>Le lundi 1er mars 2027, Exemple SA ouvre Passerelle.</p>" * 8,
        message_id=deterministic_message_id(f"bench|{number}", "exemple.fr"),
    )


def _send(url: str, count: int, *, reuse: bool) -> tuple[float, int]:
    messages = [_message(n) for n in range(count)]
    begin = time.perf_counter()
    with SmtpMailer(SmtpConfig.from_url(url), reuse_connections=reuse) as mailer:
        for message in messages:
            mailer.send(message)  # raises if the server refused one: nothing is lost silently
        opened = mailer.connections_opened
    assert mailer.messages_sent == count
    return time.perf_counter() - begin, opened


def _start_server() -> tuple[subprocess.Popen[bytes], int]:
    """aiosmtpd's discarding server in its own process: the client does not share its GIL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, port
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the local SMTP server did not start")


CAMPAIGN_STEP = "teaser-1"
LAUNCH = dt.date(2027, 3, 1)


def _campaign(url: str, people: int, workdir: Path) -> tuple[float, float, int, int]:
    """(seconds, CPU seconds of this process, e-mails sent, average message size) for one
    campaign step to ``people``."""
    engine = make_engine(f"sqlite:///{workdir / 'campaign.db'}")
    metadata.create_all(engine)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        boss = Person(email="direction@exemple.fr", first_name="Claire", last_name="Martin")
        session.add(boss)
        session.flush()
        session.execute(
            insert(Person),
            [
                {
                    "email": f"personne{n}@exemple.fr",
                    "first_name": f"Zoé{n}",
                    "last_name": "Lefèvre",
                    "language": Language.EN if n % 4 == 0 else Language.FR,
                    "manager_id": boss.id,  # the plan's manager message needs an audience
                }
                for n in range(people - 1)
            ],
        )
    plan = load_plan()  # the whole plan (it must validate); only its first step is due
    step = plan.step(CAMPAIGN_STEP)
    settings = RenderSettings(
        company="Exemple SA",
        launch_date=LAUNCH,
        platform_url="https://chat.exemple.fr",
        team_name="entreprise",
        ios_url="https://apps.apple.com/app/mattermost/id1257222717",
        android_url="https://play.google.com/store/apps/details?id=com.mattermost.rn",
        desktop_url="https://mattermost.com/download/",
        support_channel="support",
    )
    clock.set_source(
        clock.FrozenClock(step.due_at(LAUNCH, plan.timezone) + dt.timedelta(minutes=2))
    )
    sizes: list[int] = []
    excluded: list[float] = []
    excluded_cpu: list[float] = []

    class _Measuring(SmtpMailer):
        def send(self, message: OutgoingEmail) -> str:
            if len(sizes) < 50:  # the bytes the mailer sends, built again: outside the clock
                paused, paused_cpu = time.perf_counter(), time.thread_time()
                sizes.append(len(email_bytes(message)))
                excluded.append(time.perf_counter() - paused)
                excluded_cpu.append(time.thread_time() - paused_cpu)
            return super().send(message)

    try:
        dispatcher = CampaignDispatcher(
            sessions,
            plan,
            settings,
            mail_from=Address("lancement@exemple.fr", "L'équipe du lancement"),
            mailer_factory=lambda: _Measuring(SmtpConfig.from_url(url)),
        )
        begin, begin_cpu = time.perf_counter(), time.process_time()
        while (report := dispatcher.run()).sent:
            pass
        elapsed = time.perf_counter() - begin - sum(excluded)
        cpu = time.process_time() - begin_cpu - sum(excluded_cpu)  # every thread's
        if report.blocked or report.missed or report.failed:
            raise RuntimeError(f"the campaign did not run cleanly: {report}")
        with transaction(sessions) as session:
            sent = session.scalar(
                select(func.count(CampaignDelivery.id)).where(
                    CampaignDelivery.status == DeliveryStatus.SENT
                )
            )
    finally:
        clock.reset()
        engine.dispose()
    return elapsed, cpu, int(sent or 0), sum(sizes) // max(1, len(sizes))


def _raw_smtplib(port: int, count: int, size: int) -> tuple[float, float]:
    """A raw smtplib loop over one connection: messages of the campaign's size, no rendering.
    (seconds, CPU seconds)."""
    line = b"x" * 76 + b"\r\n"
    body = b"Subject: Passerelle\r\nTo: x@exemple.fr\r\n\r\n" + line * max(1, size // len(line))
    begin, begin_cpu = time.perf_counter(), time.process_time()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for n in range(count):
            smtp.sendmail("lancement@exemple.fr", [f"personne{n}@exemple.fr"], body)
    return time.perf_counter() - begin, time.process_time() - begin_cpu


def run(quick: bool) -> list[Figure]:
    count = 300 if quick else 10_000
    people = 500 if quick else 10_000
    server, port = _start_server()
    try:
        with tempfile.TemporaryDirectory(prefix="envol-bench-smtp-") as tmp:
            campaign_url = f"smtp://127.0.0.1:{port}"  # the mailer's defaults
            connections = SmtpConfig.from_url(campaign_url).connections
            campaign_seconds, campaign_cpu, sent, size = _campaign(campaign_url, people, Path(tmp))
        raw_seconds, raw_cpu = _raw_smtplib(port, people, size)
        # Relays usually cap messages per connection; 100 is the mailer's default renewal.
        url = f"smtp://127.0.0.1:{port}?per_connection=100"
        _send(url, min(200, count), reuse=True)  # warm-up: imports, caches
        reused_seconds, reused_connections = _send(url, count, reuse=True)
        fresh_seconds, fresh_connections = _send(url, count, reuse=False)
    finally:
        server.terminate()
        server.wait(timeout=10)
    if sent != people:
        raise RuntimeError(f"the campaign sent {sent} e-mails to {people} people")
    return [
        Figure(
            "smtp",
            f"campaign step to {people:,} people: plan, render, send, record ({size:,} B "
            f"each, {connections} SMTP connections)",
            people / campaign_seconds,
            people / raw_seconds,
            "raw smtplib loop over one connection, same sizes",
            "msg/s",
            goal_min=0.8,
        ),
        # On a machine shared with other work, throughput follows the CPU left over; the CPU an
        # e-mail costs this process (the relay's own is in neither) does not.
        Figure(
            "smtp",
            f"CPU time an e-mail of that campaign step costs its process (all its threads; "
            f"{people:,} people)",
            campaign_cpu / people * 1e6,
            raw_cpu / people * 1e6,
            "the raw smtplib loop's, same sizes",
            "µs",
        ),
        Figure(
            benchmark="smtp",
            what=f"{count:,} e-mails, connection reused ({reused_connections} connections)",
            measured=count / reused_seconds,
            baseline=count / fresh_seconds,
            baseline_what=f"one connection per message ({fresh_connections})",
            unit="msg/s",
        ),
    ]
