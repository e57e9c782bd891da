"""The dispatcher: plan what became due, claim it under a lease, send it, record the outcome.

One run (the Celery beat task every minute, or ``envol campaign send-due``):

1. **Plan.** Each step whose date has come gets one ``CampaignDelivery`` row per recipient,
   created once (``CampaignStepRun`` + the unique ``(step_key, recipient_key)``). Rows of a step
   that the launch date has since pushed into the future wait again; rows already sent never
   move: changing the launch date re-plans only what has not gone out.
2. **Claim** (``plugin.delivery.leases.claim_due``): due rows are marked ``sending`` with a
   lease token and expiry, and committed. On PostgreSQL, concurrent dispatchers skip each
   other's rows (``FOR UPDATE SKIP LOCKED``); on SQLite the UPDATE runs under the database's
   write lock, so its condition is the claim. A row whose lease expired with no outcome is
   claimed again and flagged ``in_doubt``.
3. **Send**, then **record** in a transaction of its own, conditional on still holding the
   lease (``update_held``). Temporary failures (SMTP 4xx, refused connections, Mattermost
   429/5xx) are retried with exponential backoff (``DispatchPolicy.retry``); permanent ones (SMTP
   5xx for this recipient, a template that fails) are recorded for the recipient and never
   retried. E-mails are rendered here (their HTML part through markdown-it once per shape of
   a step's body: ``rendering.HtmlForMany``) and sent by ``plugin.delivery.mail_pool`` on up to
   ``SmtpConfig.connections`` connections at once (``?connections=`` in ``ENVOL_SMTP_URL``;
   one connection first, more once the relay has accepted and the journal recorded a message);
   their outcomes are taken in order and a batch's outcomes written one UPDATE per outcome.

Delivery guarantee — **at least once, with duplicates detected wherever they can be**:

* E-mail: the Message-ID is derived from the idempotency key and committed to the journal of
  accepted messages (``plugin.delivery.journal``) as soon as the server answers 250: the
  connection's thread waits for that commit, shared with the other connections' acceptances of
  the moment (a group commit), before its next message. An in-doubt row is re-sent only if its
  Message-ID is not in the journal. The remaining window runs from the end of the message data,
  through the relay's acceptance (which may reach a connection the dead worker no longer holds:
  RFC 1047's duplicate), to that commit: a few milliseconds, for at most one message per
  connection. A crash there sends those messages a second time **with the same Message-ID**,
  which mail clients collapse (``bench/bench_worker_kills.py`` counts them: at most one copy
  per connection per kill, ``?connections=1`` for at most one). We chose
  this over at-most-once because a launch message that silently never arrives (the CEO's
  announcement, launch day's links) costs more than a rare duplicate.
* Platform messages carry a marker in their props; an in-doubt row is looked up on the server
  by marker before anything is posted again, so they are effectively sent once.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import wait as wait_for_all
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, and_, bindparam, case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, load_only, sessionmaker

from plugin import clock
from plugin.audit.service import record
from plugin.campaigns.decisions import held_delivery_keys
from plugin.campaigns.models import (
    CampaignDelivery,
    CampaignOptOut,
    CampaignStepRun,
    DeliveryStatus,
    StepRunStatus,
)
from plugin.campaigns.plan import CampaignPlan, Channel, Step
from plugin.campaigns.platform import PlatformFailure, PlatformSender
from plugin.campaigns.rendering import HtmlForMany, RenderSettings, TemplateFailure
from plugin.campaigns.service import Recipient, recipients_for, resolve_sender
from plugin.campaigns.validation import render_email_for, render_step_for, validate_plan
from plugin.db import transaction
from plugin.delivery.backoff import Backoff
from plugin.delivery.journal import was_accepted
from plugin.delivery.leases import LeaseColumns, claim_due, update_held
from plugin.delivery.mail_pool import Accepted, JournalledMailPool, NotTried
from plugin.errors import EnvolError
from plugin.i18n import Message, Phrase
from plugin.mail.errors import MailFailure, MailSendError
from plugin.mail.message import Address, OutgoingEmail, deterministic_message_id
from plugin.people.models import Person

if TYPE_CHECKING:
    from plugin.mail.sender import SmtpMailer

log = logging.getLogger(__name__)

ACTOR = "campaign-dispatcher"
# Jitter spreads retries of a whole batch so a recovering relay is not hit at once.
RETRY = Backoff(first=dt.timedelta(minutes=1), ceiling=dt.timedelta(hours=6), jitter=0.2)
# A delivery is due again at ``next_attempt_at`` (``due_at`` is its step's date); its lease owner
# is a token drawn for each claim.
LEASE_COLUMNS = LeaseColumns(due="next_attempt_at", owner="lease_token")


# What sending and recording a claimed row read of it (the rest is written, never read here):
# loading a row's dates and errors too cost a third of loading it.
_SENDING_NEEDS = (
    CampaignDelivery.id,
    CampaignDelivery.step_key,
    CampaignDelivery.person_id,
    CampaignDelivery.channel,
    CampaignDelivery.language,
    CampaignDelivery.message_ref,
    CampaignDelivery.attempts,
    CampaignDelivery.lease_token,
    CampaignDelivery.in_doubt,
    CampaignDelivery.created_at,
)


_DELIVERIES = cast(Table, CampaignDelivery.__table__)
# A sent row's own send time, where the lease is still held (``_flush``).
_SET_SENT_AT = (
    update(_DELIVERIES)
    .where(
        _DELIVERIES.c.id == bindparam("held_id"),
        _DELIVERIES.c.lease_token == bindparam("held_by"),
    )
    .values(sent_at=bindparam("sent", type_=CampaignDelivery.sent_at.type))
)


@dataclass(frozen=True)
class DispatchPolicy:
    lease: dt.timedelta = dt.timedelta(minutes=10)
    batch_size: int = 200
    max_rows_per_run: int = 20_000
    max_attempts: int = 8
    retry: Backoff = RETRY
    # A step found due longer ago than this (Envol installed late, a worker down for days) is
    # reported as missed rather than sent out of order, days late.
    catch_up: dt.timedelta = dt.timedelta(days=2)


@dataclass
class DispatchReport:
    materialised: dict[str, int] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)
    replanned: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    recovered: int = 0  # in-doubt rows found already delivered: recorded, not re-sent
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    blocked: list[str] = field(default_factory=list)  # validation errors that stopped planning
    held: list[str] = field(default_factory=list)  # due, but held by the launch team

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.failed


class CampaignDispatcher:
    """Plans and sends one campaign. Build one per run; it holds no state between runs."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        plan: CampaignPlan,
        settings: RenderSettings,
        *,
        mail_from: Address,
        mailer_factory: Callable[[], SmtpMailer] | None,
        platform: PlatformSender | None = None,
        policy: DispatchPolicy | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.plan = plan
        self.settings = settings
        self.mail_from = mail_from
        self.mailer_factory = mailer_factory
        self.platform = platform
        self.policy = policy or DispatchPolicy()
        self.on_progress = on_progress
        self._mail: JournalledMailPool | None = None
        self._pending: list[tuple[CampaignDelivery, dict[str, Any], str]] = []
        self._html = HtmlForMany()  # for this plan and these settings: one dispatcher's

    @property
    def launch_date(self) -> dt.date:
        return self.settings.launch_date

    def message_ref(self, step: Step, recipient_key: str) -> str:
        return deterministic_message_id(
            f"{self.plan.delivery_key(step)}|{recipient_key}", self.mail_from.domain
        )

    # ------------------------------------------------------------------ 1. plan

    def plan_due(self, now: dt.datetime, report: DispatchReport) -> None:
        """Materialise the steps that became due; re-plan unsent rows of moved steps."""
        with transaction(self.sessions) as session:
            runs = {run.step_key: run for run in session.scalars(select(CampaignStepRun))}
            held = held_delivery_keys(session, self.plan)
        newly_due = []
        for step in self.plan.steps:
            key = self.plan.delivery_key(step)
            due_at = step.due_at(self.launch_date, self.plan.timezone)
            run = runs.get(key)
            if run is None:
                if key in held:
                    if due_at <= now:
                        report.held.append(step.key)
                    continue  # the launch team held it back: not planned until approved
                if due_at <= now:
                    newly_due.append((step, due_at))
            elif run.status == StepRunStatus.MATERIALISED and run.due_at != due_at:
                moved = self._replan_step(key, due_at, now)
                if moved:
                    report.replanned[step.key] = moved
        if not newly_due:
            return
        # Check the plan before anything new goes out; the "in the past" rule does not apply to
        # steps that are due now, and a sample render per language is enough here (send-time
        # failures are recorded per recipient).
        with transaction(self.sessions) as session:
            check = validate_plan(
                session,
                self.plan,
                launch_date=self.launch_date,
                now=now,
                settings=self.settings,
                default_from=self.mail_from.email,
                render_for_every_recipient=False,
            )
        blocking = [p for p in check.errors if not _says(p.message, "check.in_past")]
        if blocking:
            report.blocked = [Phrase(p) for p in blocking]  # worded where shown
            log.error(
                "campaign %s not planned: %d error(s), first: %s",
                self.plan.name,
                len(blocking),
                blocking[0],
            )
            return
        for step, due_at in newly_due:
            if due_at < now - self.policy.catch_up:
                self._record_missed(step, due_at)
                report.missed.append(step.key)
            else:
                count = self._materialise(step, due_at, now)
                if count is not None:
                    report.materialised[step.key] = count

    def _replan_step(self, key: str, due_at: dt.datetime, now: dt.datetime) -> int:
        with transaction(self.sessions) as session:
            run = session.get(CampaignStepRun, key)
            if run is None:
                return 0
            moved = 0
            if due_at > now:
                # Pushed into the future: what has not gone out waits for the new date.
                moved = session.execute(
                    update(CampaignDelivery)
                    .where(
                        CampaignDelivery.step_key == key,
                        CampaignDelivery.status == DeliveryStatus.PLANNED,
                    )
                    .values(due_at=due_at, next_attempt_at=due_at)
                ).rowcount  # type: ignore[attr-defined]
            run.due_at = due_at
            run.launch_date = self.launch_date
            record(
                session,
                actor=ACTOR,
                action="campaign.step_replanned",
                subject_type="step",
                subject_id=key,
                details={
                    "due_at": due_at.isoformat(),
                    "rows_moved": moved,
                    "launch_date": self.launch_date.isoformat(),
                },
            )
        return moved

    def _record_missed(self, step: Step, due_at: dt.datetime) -> None:
        key = self.plan.delivery_key(step)
        try:
            with transaction(self.sessions) as session:
                session.add(
                    CampaignStepRun(
                        step_key=key,
                        status=StepRunStatus.MISSED,
                        due_at=due_at,
                        launch_date=self.launch_date,
                        recipients=0,
                        materialised_at=clock.now(),
                    )
                )
                record(
                    session,
                    actor=ACTOR,
                    action="campaign.step_missed",
                    subject_type="step",
                    subject_id=key,
                    reason="due before Envol could send it; not sent late",
                )
        except IntegrityError:
            pass  # another dispatcher recorded it first

    def _materialise(self, step: Step, due_at: dt.datetime, now: dt.datetime) -> int | None:
        key = self.plan.delivery_key(step)
        try:
            with transaction(self.sessions) as session:
                rows = self._rows_for(session, step, due_at)
                session.add(
                    CampaignStepRun(
                        step_key=key,
                        status=StepRunStatus.MATERIALISED,
                        due_at=due_at,
                        launch_date=self.launch_date,
                        recipients=len(rows),
                        materialised_at=now,
                    )
                )
                if rows:
                    session.execute(insert(CampaignDelivery), rows)
                details: dict[str, Any] = {"recipients": len(rows), "due_at": due_at.isoformat()}
                reason = ""
                if step.kind == "announcement" and self.plan.announcement_override is not None:
                    notice = (self.launch_date - due_at.astimezone(self.plan.timezone).date()).days
                    if notice < 30:
                        reason = self.plan.announcement_override.reason
                        details["notice_days"] = notice
                record(
                    session,
                    actor=ACTOR,
                    action="campaign.step_planned",
                    subject_type="step",
                    subject_id=key,
                    reason=reason,
                    details=details,
                )
        except IntegrityError:
            return None  # another dispatcher materialised it in the meantime
        return len(rows)

    def _rows_for(self, session: Session, step: Step, due_at: dt.datetime) -> list[dict[str, Any]]:
        """The step's delivery rows as plain values: one bulk INSERT, no object per recipient."""
        key = self.plan.delivery_key(step)
        planned = {
            "step_key": key,
            "status": DeliveryStatus.PLANNED,
            "error": "",
            "due_at": due_at,
            "next_attempt_at": due_at,
        }
        if step.channel == Channel.POST:
            recipient_key = f"channel:{step.post_channel}"
            return [
                planned
                | {
                    "recipient_key": recipient_key,
                    "person_id": None,
                    "channel": Channel.POST.value,
                    "language": self.plan.languages[0],
                    "message_ref": self.message_ref(step, recipient_key),
                }
            ]
        opted_out = set(session.scalars(select(CampaignOptOut.person_id)))
        rows = []
        for recipient in recipients_for(session, step):
            person = recipient.person
            recipient_key = f"person:{person.id}"
            channel = step.channel.value
            if step.channel == Channel.DM and not person.mattermost_user_id:
                channel = Channel.EMAIL.value  # not on the platform yet: e-mail reaches them
            row = planned | {
                "recipient_key": recipient_key,
                "person_id": person.id,
                "channel": channel,
                "language": recipient.language
                if recipient.language in step.templates
                else self.plan.languages[0],
                "message_ref": self.message_ref(step, recipient_key),
            }
            if not step.mandatory and person.id in opted_out:
                row |= {"status": DeliveryStatus.SKIPPED, "error": "opted out of optional messages"}
            rows.append(row)
        return rows

    # ------------------------------------------------------------------ 2. claim

    def claim(self, now: dt.datetime, limit: int) -> list[CampaignDelivery]:
        """Lease up to ``limit`` due rows of this campaign (``plugin.delivery.leases``): planned
        ones whose attempt is due, and "sending" ones whose lease expired with no outcome."""
        token = secrets.token_hex(16)
        with transaction(self.sessions) as session:
            ids = claim_due(
                session,
                CampaignDelivery,
                owner=token,
                now=now,
                limit=limit,
                lease=self.policy.lease,
                columns=LEASE_COLUMNS,
                where=and_(
                    CampaignDelivery.step_key.like(f"{self.plan.name}/%"),
                    CampaignDelivery.status.in_((DeliveryStatus.PLANNED, DeliveryStatus.SENDING)),
                ),
                also_set={
                    # A row still "sending" here lost its outcome: look for it before re-sending.
                    "in_doubt": case(
                        (CampaignDelivery.status == DeliveryStatus.SENDING, True), else_=False
                    ),
                    "status": DeliveryStatus.SENDING,
                    "attempts": CampaignDelivery.attempts + 1,
                    "last_attempt_at": now,
                },
            )
            if not ids:
                return []
            claimed = list(
                session.scalars(
                    select(CampaignDelivery)
                    .options(load_only(*_SENDING_NEEDS, raiseload=True))
                    .where(CampaignDelivery.id.in_(ids))
                    .order_by(CampaignDelivery.next_attempt_at, CampaignDelivery.id)
                )
            )
            session.expunge_all()
        return claimed

    # ------------------------------------------------------------------ 3. send and record

    def run(self, now: dt.datetime | None = None) -> DispatchReport:
        """Plan, then send everything due, batch after batch, within ``max_rows_per_run``.

        The next batch is claimed, rendered and handed to the connections before the previous
        one's outcomes are taken and written: the connections are not left idle while the
        database records a batch and claims the next.
        """
        with _long_lived_objects_set_aside():
            return self._run(now)

    def _run(self, now: dt.datetime | None) -> DispatchReport:
        report = DispatchReport()
        self.plan_due(now or clock.now(), report)
        handled = 0
        with self._mailer_session():
            previous: _Started | None = None
            stopped = False
            try:
                while not stopped and handled < self.policy.max_rows_per_run:
                    if self._mail is not None and self._mail.stopped:
                        break  # the relay failed: claim nothing more this run
                    batch = self.claim(clock.now(), self.policy.batch_size)
                    if not batch:
                        break
                    handled += len(batch)
                    started = self._start_batch(batch, report)
                    if previous is not None:
                        stopped = self._settle_batch(previous, report)
                    previous = started
                    stopped = stopped or started.stopped
                if previous is not None:
                    self._settle_batch(previous, report)
            finally:
                self._flush(report)
        return report

    @contextmanager
    def _mailer_session(self) -> Iterator[None]:
        if self.mailer_factory is not None:
            self._mail = JournalledMailPool(
                self.sessions.kw["bind"], self.mailer_factory, purpose="campaign"
            )
        # A connection held for the run also spares SQLite a WAL checkpoint at every close.
        keep_open = self.sessions.kw["bind"].connect()
        try:
            yield
        finally:
            if self._mail is not None:
                self._mail.close()
                self._mail = None
            keep_open.close()

    def _start_batch(self, batch: list[CampaignDelivery], report: DispatchReport) -> _Started:
        """Send a claimed batch's platform messages; render its e-mails and hand them to the
        pool's connections, which send them while the next ones are rendered.

        A connection-level failure stops the batch: the rows not handed over go back untried.
        """
        people = self._people_for(batch)
        started = _Started()
        for index, row in enumerate(batch):
            if self._mail is not None and self._mail.stop_reason is not None:
                self._release(batch[index:], self._mail.stop_reason)
                started.stopped = True
                break
            try:
                future = self._send_row(row, report, people)
            except _ConnectionLevel as stop:
                self._retry(row, stop.reason, stop.code, report)
                self._release(batch[index + 1 :], stop.reason)
                started.stopped = True
                break
            if future is None:
                self._progress()
            else:
                started.emails.append((row, future))
        return started

    def _settle_batch(self, started: _Started, report: DispatchReport) -> bool:
        """Take a batch's e-mail outcomes in order and write the outcomes gathered so far in one
        transaction; True when a connection-level failure stopped the pool.

        Each e-mail's acceptance is already in the journal (committed before its future
        resolved): a crash before this write leaves rows "sending", which the journal then
        settles without re-sending.
        """
        stopped = False
        # One wake-up for the batch, not one for each e-mail still on the wire.
        wait_for_all([future for _, future in started.emails])
        for row, future in started.emails:
            stopped = self._settle(row, future, report) or stopped
            self._progress()
        self._flush(report)
        return stopped

    def _settle(
        self, row: CampaignDelivery, future: Future[Accepted], report: DispatchReport
    ) -> bool:
        """Record one e-mail's outcome; True when its connection failed (the batch stops)."""
        try:
            accepted = future.result()
        except NotTried as not_tried:
            self._release([row], not_tried.reason)
            return True
        except MailSendError as error:
            # A connection-level failure is temporary: this row is retried, and the rest of the
            # batch goes back untried (the pool stopped).
            self._mail_failed(row, error.failure, report)
            return error.failure.connection_level
        self._finish(row, DeliveryStatus.SENT, "", report, sent_at=accepted.accepted_at)
        return False

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(1)

    def _people_for(self, batch: list[CampaignDelivery]) -> dict[int, Person]:
        ids = {row.person_id for row in batch if row.person_id is not None}
        if not ids:
            return {}
        with transaction(self.sessions) as session:
            people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
            manager_ids = {p.manager_id for p in people.values() if p.manager_id} - set(people)
            if manager_ids:
                people.update(
                    {
                        m.id: m
                        for m in session.scalars(select(Person).where(Person.id.in_(manager_ids)))
                    }
                )
            session.expunge_all()
        return people

    def _send_row(
        self, row: CampaignDelivery, report: DispatchReport, people: dict[int, Person]
    ) -> Future[Accepted] | None:
        """Send a platform message, or hand an e-mail to the pool (its future returned)."""
        step = self.plan.step(row.step_key.split("/", 1)[1])
        in_doubt = row.in_doubt
        person = people.get(row.person_id) if row.person_id is not None else None
        manager = people.get(person.manager_id) if person and person.manager_id else None
        if row.channel != Channel.POST and (person is None or not person.is_active):
            self._finish(row, DeliveryStatus.SKIPPED, "the person left or was forgotten", report)
            return None
        if step.sender == "manager" and manager is None:
            self._finish(row, DeliveryStatus.SKIPPED, "the person no longer has a manager", report)
            return None
        recipient = Recipient(person, manager) if person is not None else None
        if in_doubt and self._already_delivered(row, person):
            self._finish(row, DeliveryStatus.SENT, "", report, recovered=True)
            return None
        try:
            if row.channel == Channel.POST:
                bodies = [
                    render_step_for(
                        self.plan, step, language, self.settings, None, self.mail_from.email
                    ).as_platform_post()
                    for language in self.plan.languages
                ]
                self._platform().post_to_channel(
                    step.post_channel or "", "\n\n---\n\n".join(bodies), marker=row.message_ref
                )
            else:
                assert person is not None
                if row.channel == Channel.DM:
                    rendered = render_step_for(
                        self.plan,
                        step,
                        row.language,
                        self.settings,
                        recipient,
                        self.mail_from.email,
                    )
                    self._platform().send_direct_message(
                        person.mattermost_user_id or "",
                        rendered.as_platform_post(),
                        marker=row.message_ref,
                    )
                else:
                    assert recipient is not None
                    return self._send_email(row, step, recipient)
        except TemplateFailure as failure:
            self._finish(row, DeliveryStatus.FAILED, f"template: {failure}", report)
            return None
        except PlatformFailure as failure:
            if failure.connection_level:
                raise _ConnectionLevel(failure.reason, None) from failure
            if failure.temporary:
                self._retry(row, failure.reason, None, report)
            else:
                self._finish(row, DeliveryStatus.FAILED, failure.reason, report)
            return None
        self._finish(row, DeliveryStatus.SENT, "", report)
        return None

    def _send_email(
        self, row: CampaignDelivery, step: Step, recipient: Recipient
    ) -> Future[Accepted]:
        assert self._mail is not None, "no mailer for e-mail steps"
        rendered, html = render_email_for(
            self.plan,
            step,
            row.language,
            self.settings,
            recipient,
            self.mail_from.email,
            self._html,
        )
        person = recipient.person
        sender = resolve_sender(self.plan, step, recipient, row.language, self.mail_from.email)
        outgoing = OutgoingEmail(
            sender=Address(sender.from_email, sender.name),
            recipient=Address(person.email, person.display_name),
            subject=rendered.subject,
            text=rendered.text,
            html=html,
            message_id=row.message_ref,
            reply_to=Address(sender.reply_to) if sender.reply_to else None,
            mandatory=step.mandatory,
            unsubscribe_mailto=self.plan.unsubscribe_mailto,
            language=row.language,
            envelope_sender=self.mail_from.email,
        )
        # The future resolves once the Message-ID is journalled: an expired lease re-checks it.
        return self._mail.submit(outgoing)

    def _already_delivered(self, row: CampaignDelivery, person: Person | None) -> bool:
        if row.channel == Channel.EMAIL:
            with transaction(self.sessions) as session:
                return was_accepted(session, row.message_ref)
        # No attempt can be older than the row itself (the claim overwrote the last attempt's time).
        since = row.created_at - dt.timedelta(minutes=1)
        try:
            found = self._platform().find_delivered(
                user_id=person.mattermost_user_id if person and row.channel == Channel.DM else None,
                channel_name=self.plan.step(row.step_key.split("/", 1)[1]).post_channel
                if row.channel == Channel.POST
                else None,
                marker=row.message_ref,
                since=since,
            )
        except PlatformFailure as failure:
            raise _ConnectionLevel(failure.reason, None) from failure
        return found is not None

    def _platform(self) -> PlatformSender:
        if self.platform is None:
            raise PlatformFailure(
                True,
                "no Mattermost connection configured for platform messages",
                connection_level=True,
            )
        return self.platform

    def _mail_failed(
        self, row: CampaignDelivery, failure: MailFailure, report: DispatchReport
    ) -> None:
        if failure.temporary:
            self._retry(row, failure.reason, failure.code, report)
        else:
            self._finish(row, DeliveryStatus.FAILED, failure.reason, report, code=failure.code)

    # ------------------------------------------------------------------ recording

    def _finish(
        self,
        row: CampaignDelivery,
        status: DeliveryStatus,
        error: str,
        report: DispatchReport,
        *,
        code: int | None = None,
        recovered: bool = False,
        sent_at: dt.datetime | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "error": error[:500],
            "error_code": code,
            "lease_token": None,
            "lease_expires_at": None,
        }
        if status == DeliveryStatus.SENT:
            values["sent_at"] = sent_at or clock.now()
            counter = "recovered" if recovered else "sent"
        else:
            counter = "failed" if status == DeliveryStatus.FAILED else "skipped"
        self._pending.append((row, values, counter))

    def _retry(
        self, row: CampaignDelivery, reason: str, code: int | None, report: DispatchReport
    ) -> None:
        if row.attempts >= self.policy.max_attempts:
            self._finish(
                row,
                DeliveryStatus.FAILED,
                f"gave up after {row.attempts} attempts: {reason}",
                report,
                code=code,
            )
            return
        values = {
            "status": DeliveryStatus.PLANNED,
            "error": reason[:500],
            "error_code": code,
            "lease_token": None,
            "lease_expires_at": None,
            "next_attempt_at": clock.now() + self.policy.retry.after(row.attempts),
        }
        self._pending.append((row, values, "retried"))

    def _release(self, rows: list[CampaignDelivery], reason: str) -> None:
        """Give back claimed rows that were not tried (the relay is down): no attempt counted."""
        delay = self.policy.retry.after(1)
        for row in rows:
            self._pending.append(
                (
                    row,
                    {
                        "status": DeliveryStatus.PLANNED,
                        "lease_token": None,
                        "lease_expires_at": None,
                        "attempts": row.attempts - 1,
                        "error": f"not tried: {reason}"[:500],
                        "next_attempt_at": clock.now() + delay,
                    },
                    "",
                )
            )

    def _flush(self, report: DispatchReport) -> None:
        """Write the batch's outcomes where we still hold the lease (one transaction).

        Rows with the same outcome share one UPDATE: a statement per row cost more than sending
        the e-mail. Sent rows keep their own ``sent_at``, written first by one statement run for
        every row (executemany), under the same lease condition: a ``CASE`` of a batch's 200
        send times, built and compiled for every batch, cost 25 µs an e-mail.
        """
        pending, self._pending = self._pending, []
        if not pending:
            return
        groups: dict[tuple[Any, ...], list[tuple[CampaignDelivery, dict[str, Any]]]] = {}
        for row, values, counter in pending:
            shared = tuple(sorted((k, v) for k, v in values.items() if k != "sent_at"))
            groups.setdefault((row.lease_token or "", counter, shared), []).append((row, values))
        with transaction(self.sessions) as session:
            for (token, counter, shared), rows in groups.items():
                values = dict(shared)
                if "sent_at" in rows[0][1]:
                    session.execute(
                        _SET_SENT_AT,
                        [
                            {"held_id": row.id, "held_by": token, "sent": row_values["sent_at"]}
                            for row, row_values in rows
                        ],
                    )
                ids = [row.id for row, _ in rows]
                changed = update_held(session, CampaignDelivery, ids, token, values, LEASE_COLUMNS)
                if changed < len(ids):
                    log.warning(
                        "campaign deliveries %s: lease lost before the outcome of %d was recorded",
                        ids,
                        len(ids) - changed,
                    )
                if counter == "recovered":
                    report.sent += changed
                    report.recovered += changed
                elif counter:
                    setattr(report, counter, getattr(report, counter) + changed)


@dataclass
class _Started:
    """A batch handed to the connections: its e-mails' futures, in the batch's order."""

    emails: list[tuple[CampaignDelivery, Future[Accepted]]] = field(default_factory=list)
    stopped: bool = False


class _ConnectionLevel(EnvolError):
    def __init__(self, reason: str, code: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@contextmanager
def _long_lived_objects_set_aside() -> Iterator[None]:
    """The objects alive when a run starts (modules, SQLAlchemy's and Jinja's caches, locale
    data: hundreds of thousands) set aside from the garbage collector until it ends.

    A run makes objects that outlive the collector's young generations (a batch's rows, people,
    messages and futures live while the next batch is rendered), so its oldest generation is
    collected every few hundred e-mails, and each of those collections walked every object of
    the process: 80 µs of CPU per e-mail of a 10,000-person step, a fifth of the dispatcher's
    own work. Frozen (``gc.freeze``), they are not walked; the run's own objects are collected
    as before, and ``gc.unfreeze`` hands the others back at the end (garbage among them is then
    collected as usual, one run later). Nothing is done when objects are frozen already (a
    pre-fork server may freeze its own before forking): unfreezing would undo that.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _says(text: str, key: str) -> bool:
    """Whether a plan problem's text is the catalogue message ``key`` (matched on the key, not
    on its English wording, which may change)."""
    said = getattr(text, "said", None)
    return isinstance(said, Message) and said.key == key
