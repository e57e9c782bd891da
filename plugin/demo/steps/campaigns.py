"""Demo step: the communication plan's calendar, then the campaign on the demo's clock.

The calendar is the default plan against the roster the people step imported. The sending runs
through a real SMTP server on loopback (aiosmtpd): four beats a day from before the first teaser
to the first wave's planned day (this step), then once a day from the launch step's loop until
the follow-up; the CEO's announcement goes out before any wave opens. To keep the demo quick
every step goes to the first wave (managers and champions) rather than to everyone: same plan,
same templates, only the audience differs (the SMTP journal costs about a tenth of a second per
e-mail on a busy machine: the announcement to 1,500 people would take minutes).
"""

from __future__ import annotations

import datetime as dt
import email
import email.parser
import email.policy
import shutil
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from sqlalchemy import func, select

from plugin import clock
from plugin.campaigns.dispatcher import CampaignDispatcher, DispatchPolicy
from plugin.campaigns.plan import DEFAULT_PLAN_DIR, load_plan
from plugin.campaigns.service import calendar, render_settings, status_by_step
from plugin.campaigns.validation import validate_plan
from plugin.db import transaction
from plugin.i18n import long_date
from plugin.mail.config import SmtpConfig
from plugin.mail.message import Address
from plugin.mail.sender import SmtpMailer
from plugin.people.models import Person

if TYPE_CHECKING:
    from plugin.demo.run import DemoRun


_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.default)


@dataclass
class _Inbox:
    """What the demo's SMTP server received: (recipient, subject, language, Message-ID)."""

    received: list[tuple[str, str, str, str]] = field(default_factory=list)
    samples: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # The headers are all the tally needs: parsing each body as well took most of this
        # server's time. A language's first message, shown as a sample, is parsed whole.
        message = _HEADERS.parsebytes(envelope.content)
        language = str(message["Content-Language"] or "")
        with self.lock:
            self.received.append(
                (
                    envelope.rcpt_tos[0],
                    str(message["Subject"]),
                    language,
                    str(message["Message-ID"]),
                )
            )
            if language not in self.samples:
                self.samples[language] = email.message_from_bytes(
                    envelope.content, policy=email.policy.default
                )
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _demo_plan_dir(run: DemoRun, audience: str) -> Path:
    target = run.workdir / "campaign"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(DEFAULT_PLAN_DIR, target)
    plan_file = target / "plan.yaml"
    plan_file.write_text(
        plan_file.read_text(encoding="utf-8").replace(
            "audience: everyone", f"audience: {audience}"
        ),
        encoding="utf-8",
    )
    return target


def step_campaign(run: DemoRun) -> None:
    context, console = run.context, run.console
    runtime = context.runtime.current
    launch = runtime.launch_date
    plan = load_plan()
    settings = render_settings(context, runtime, launch)
    start = dt.datetime.combine(launch - dt.timedelta(days=50), dt.time(8, 0), tzinfo=dt.UTC)
    if clock.now() > start:
        # The configured launch is too close for a 45-day campaign: the demo moves it.
        launch = clock.now().date() + dt.timedelta(days=60)
        settings = render_settings(context, runtime, launch)
        start = dt.datetime.combine(launch - dt.timedelta(days=50), dt.time(8, 0), tzinfo=dt.UTC)
        console.print(
            f"[yellow]launch day moved to {launch} for the demo (the configured one is "
            "less than 50 days away)[/]"
        )
    frozen = run.clock
    frozen.set(start)
    with transaction(context.sessions) as session:
        if not session.scalar(select(func.count()).select_from(Person)):
            console.print("[yellow]no roster imported: the campaign step needs the people step[/]")
            return
        report = validate_plan(
            session,
            plan,
            launch_date=launch,
            now=clock.now(),
            settings=settings,
            default_from="envol@localhost",
            render_for_every_recipient=False,
        )
        entries = calendar(session, plan, launch)
    table = Table(title=f"Communication plan — launch {long_date(launch, 'en', weekday=True)}")
    for column in ("date", "when", "step", "audience", "size", "channel", "sender"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for entry in entries:
        sender = plan.senders.get(entry.step.sender)
        table.add_row(
            f"{entry.local_due:%a %d/%m %H:%M}",
            entry.step.when.label(),
            entry.step.key,
            entry.step.audience,
            "?" if entry.audience_size is None else f"{entry.audience_size:,}",
            entry.step.channel.value,
            sender.name.get("fr") if sender else "each one's manager",
        )
    console.print(table)
    console.print(f"validation: {len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    for problem in report.problems[:5]:
        console.print(f"  {problem}")

    waves = run.state.get("waves") or []
    audience = f"wave:{waves[0]}" if waves else "managers"
    beat = CampaignBeat.start(run, load_plan(_demo_plan_dir(run, audience)), settings, audience)
    run.state["campaign"] = beat
    run.state.setdefault("closers", []).append(beat.close)
    first_wave = run.state.get("first_wave_at")
    until = first_wave if isinstance(first_wave, dt.datetime) else start
    beat.run_until(until)
    console.print(
        f"campaign sent to {audience} on an accelerated clock until the first wave's planned "
        f"day ({until:%d %B %Y}): {beat.runs} dispatcher runs over {(until - start).days} "
        f"days, in {beat.elapsed:.1f}s of real time; the rest goes out during the launch"
    )
    beat.print_status(console)


@dataclass
class CampaignBeat:
    """The campaign's dispatcher on the demo's clock, with the loopback SMTP server it sends to:
    four beats a day before the first wave, then once a day from the launch step's loop."""

    run: DemoRun
    plan: Any
    settings: Any
    audience: str
    inbox: _Inbox
    port: int
    controller: Any
    due: list[dt.datetime] = field(default_factory=list)  # every step's due moment (UTC)
    runs: int = 0
    elapsed: float = 0.0  # seconds of real time spent dispatching
    _last_run: dt.datetime | None = None
    _busy: bool = True  # the last run sent or retried something: more may be pending

    @classmethod
    def start(cls, run: DemoRun, plan: Any, settings: Any, audience: str) -> CampaignBeat:
        from aiosmtpd.controller import Controller

        inbox = _Inbox()
        port = _free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10)
        controller.start()
        with run.context.sessions() as session:
            due = sorted(entry.due_at for entry in calendar(session, plan, settings.launch_date))
        return cls(run, plan, settings, audience, inbox, port, controller, due)

    def dispatch(self) -> None:
        """A dispatcher run at the clock's current moment, when a step fell due since the
        last one or that one left work behind (the real beat runs every minute; between the
        steps it finds nothing to do)."""
        now = clock.now()
        last = self._last_run
        fell_due = any(last is None or last < due <= now for due in self.due)
        if not (fell_due or self._busy):
            return
        self._last_run = now
        began = time.monotonic()
        port = self.port
        report = CampaignDispatcher(
            self.run.context.sessions,
            self.plan,
            self.settings,
            mail_from=Address("envol@localhost", "Envol"),
            mailer_factory=lambda: SmtpMailer(SmtpConfig.from_url(f"smtp://127.0.0.1:{port}")),
            platform=None,
            policy=DispatchPolicy(batch_size=500),
        ).run()
        self._busy = bool(report.attempted or report.materialised or report.replanned)
        self.runs += 1
        self.elapsed += time.monotonic() - began

    def run_until(self, moment: dt.datetime) -> None:
        """Beats every six hours (the beat every minute, compressed) up to ``moment``."""
        frozen = self.run.clock
        day = clock.now()
        while day < moment:
            frozen.set(day)
            self.dispatch()
            day += dt.timedelta(hours=6)
        frozen.set(moment)

    def close(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def print_status(self, console: Any) -> None:
        with transaction(self.run.context.sessions) as session:
            statuses = status_by_step(session, self.plan)
        received = list(self.inbox.received)
        duplicates = len(received) - len({(r[0], r[1]) for r in received})
        status_table = Table(title=f"envol campaign status — {clock.now():%d %B %Y}")
        for column in ("step", "sent", "failed", "skipped"):
            status_table.add_column(column, justify="left" if column == "step" else "right")
        for status in statuses:
            status_table.add_row(
                status.step_key, *(f"{status.count(c):,}" for c in ("sent", "failed", "skipped"))
            )
        console.print(status_table)
        languages = Counter(language for _, _, language, _ in received)
        console.print(
            f"{len(received):,} e-mails received by the SMTP server "
            f"({', '.join(f'{n:,} {lang}' for lang, n in sorted(languages.items()))}), "
            f"{duplicates} duplicate(s)"
        )
        for language, message in sorted(self.inbox.samples.items()):
            body = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
            console.print(f"[bold]{language}[/] sample — Subject: {message['Subject']}")
            console.print("  " + "\n  ".join(body.strip().splitlines()[:4]), markup=False)
        self.run.state["campaign_emails_sent"] = len(received)
