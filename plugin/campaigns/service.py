"""The campaign's services: who receives a step, the calendar, the status, opt-outs.

Used by the validator, the dispatcher, the CLI and the demo; they all resolve recipients and
senders here, so a check and a send can never disagree about who gets what.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.campaigns.models import (
    CampaignDelivery,
    CampaignOptOut,
    CampaignStepRun,
    DeliveryStatus,
    StepRunStatus,
)
from plugin.campaigns.plan import MANAGER_SENDER, CampaignPlan, Channel, Step
from plugin.campaigns.rendering import PersonView, RenderSettings
from plugin.cohorts.audiences import audience_query, check_audience_exists
from plugin.errors import EnvolError
from plugin.people.directory import person_by_email
from plugin.people.models import Person

if TYPE_CHECKING:
    from plugin.app import EnvolContext
    from plugin.settings import RuntimeSettings


@dataclass(frozen=True)
class Recipient:
    person: Person
    manager: Person | None

    @property
    def language(self) -> str:
        return str(getattr(self.person.language, "value", self.person.language))


@dataclass(frozen=True)
class ResolvedSender:
    """Who a message is from, for one recipient."""

    name: str
    email: str
    title: str
    reply_to: str | None
    from_email: str  # the From: address (a manager's message goes out from the campaign address)


def render_settings(
    context: EnvolContext,
    runtime: RuntimeSettings | None = None,
    launch_date: dt.date | None = None,
) -> RenderSettings:
    runtime = runtime or context.runtime.current
    return RenderSettings(
        company=runtime.company_name,
        launch_date=launch_date or runtime.launch_date,
        platform_url=context.settings.mattermost_url,
        team_name=runtime.team_name,
        ios_url=runtime.mobile_app_ios_url,
        android_url=runtime.mobile_app_android_url,
        desktop_url=runtime.desktop_app_url,
        support_channel=runtime.support_channel,
    )


def recipients_for(session: Session, step: Step) -> list[Recipient]:
    """The active people of the step's audience; for manager messages, those who have a manager
    (each hears from their own). Raises ``EnvolError`` for an unknown audience."""
    if step.channel == Channel.POST:
        return []
    check_audience_exists(session, step.audience)
    people = list(session.scalars(audience_query(step.audience)))
    manager_ids = {p.manager_id for p in people if p.manager_id is not None}
    managers: dict[int, Person] = {}
    if manager_ids:
        managers = {
            m.id: m for m in session.scalars(select(Person).where(Person.id.in_(manager_ids)))
        }
    recipients = [
        Recipient(p, managers.get(p.manager_id) if p.manager_id else None) for p in people
    ]
    if step.sender == MANAGER_SENDER:
        recipients = [r for r in recipients if r.manager is not None and r.manager.is_active]
    return recipients


def resolve_sender(
    plan: CampaignPlan, step: Step, recipient: Recipient | None, language: str, default_from: str
) -> ResolvedSender:
    if step.sender == MANAGER_SENDER:
        manager = recipient.manager if recipient else None
        if manager is None:
            raise LookupError(f"step {step.key!r}: the recipient has no manager")
        return ResolvedSender(
            name=manager.display_name,
            email=manager.email,
            title="",
            reply_to=manager.email,
            # Sent from the campaign's address with the manager's name: the company's relay may
            # send as its own address; sending "as" each manager would fail SPF/DMARC checks.
            from_email=plan.manager_messages_from or default_from,
        )
    sender = plan.senders[step.sender]
    return ResolvedSender(
        name=sender.name.get(language),
        email=sender.email,
        title=sender.title.get(language) if sender.title else "",
        reply_to=sender.reply_to,
        from_email=sender.email,
    )


def person_view(person: Person | None) -> PersonView | None:
    return PersonView.of(person) if person is not None else None


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class CalendarEntry:
    step: Step
    due_at: dt.datetime  # UTC
    local_due: dt.datetime
    audience_size: int | None  # None when the audience cannot be resolved
    sender_label: str
    state: str  # "to come", "materialised", "missed"


def sender_label(plan: CampaignPlan, step: Step) -> str:
    if step.sender == MANAGER_SENDER:
        return "each person's manager (Reply-To: the manager)"
    sender = plan.senders.get(step.sender)
    if sender is None:
        return f"? {step.sender or '(missing)'}"
    return f"{sender.name.get('fr')} <{sender.email}>"


def calendar(session: Session, plan: CampaignPlan, launch: dt.date) -> list[CalendarEntry]:
    runs = {run.step_key: run for run in session.scalars(select(CampaignStepRun))}
    entries = []
    for step in plan.steps:
        run = runs.get(plan.delivery_key(step))
        # A step that became due keeps the date it was planned for (re-planned if not sent).
        due = run.due_at if run is not None else step.due_at(launch, plan.timezone)
        size: int | None
        if step.channel == Channel.POST:
            size = 1
        else:
            try:
                size = len(recipients_for(session, step))
            except Exception:  # an unknown audience: the validator explains it
                size = None
        entries.append(
            CalendarEntry(
                step=step,
                due_at=due,
                local_due=due.astimezone(plan.timezone),
                audience_size=size,
                sender_label=sender_label(plan, step),
                state=run.status.value if run is not None else "to come",
            )
        )
    return sorted(entries, key=lambda entry: (entry.due_at, entry.step.key))


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class StepStatus:
    step_key: str
    counts: dict[str, int]
    # When the step became due (local time), None while it is still to come.
    due_at: dt.datetime | None = None
    missed: bool = False  # found due too long ago: reported instead of sent

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)


def status_by_step(session: Session, plan: CampaignPlan) -> list[StepStatus]:
    """Per step of the plan: its deliveries by status, and when it became due."""
    rows = session.execute(
        select(CampaignDelivery.step_key, CampaignDelivery.status, func.count())
        .where(CampaignDelivery.step_key.like(f"{plan.name}/%"))
        .group_by(CampaignDelivery.step_key, CampaignDelivery.status)
    ).all()
    counts: dict[str, Counter[str]] = {}
    for step_key, status, count in rows:
        counts.setdefault(step_key, Counter())[str(getattr(status, "value", status))] += count
    runs = {run.step_key: run for run in session.scalars(select(CampaignStepRun))}
    statuses = []
    for step in plan.steps:
        key = plan.delivery_key(step)
        run = runs.get(key)
        statuses.append(
            StepStatus(
                step.key,
                dict(counts.get(key, Counter())),
                due_at=run.due_at.astimezone(plan.timezone) if run is not None else None,
                missed=run is not None and run.status == StepRunStatus.MISSED,
            )
        )
    return statuses


@dataclass(frozen=True)
class DueWork:
    """What ``send-due`` would do now for one step."""

    step_key: str
    to_plan: int  # recipients of a step that becomes due now (0 if its audience is unknown)
    to_send: int  # messages already planned and due


def due_work(
    session: Session, plan: CampaignPlan, launch: dt.date, now: dt.datetime
) -> list[DueWork]:
    """The steps to plan and the messages to send at ``now``, in plan order (a dry run)."""
    runs = set(session.scalars(select(CampaignStepRun.step_key)))
    entries = {entry.step.key: entry for entry in calendar(session, plan, launch)}
    due_rows: dict[str, int] = {
        key: count
        for key, count in session.execute(
            select(CampaignDelivery.step_key, func.count())
            .where(
                CampaignDelivery.status == DeliveryStatus.PLANNED,
                CampaignDelivery.next_attempt_at <= now,
            )
            .group_by(CampaignDelivery.step_key)
        ).tuples()
    }
    work = []
    for step in plan.steps:
        key = plan.delivery_key(step)
        if key not in runs and entries[step.key].due_at <= now:
            work.append(DueWork(step.key, to_plan=entries[step.key].audience_size or 0, to_send=0))
        elif due_rows.get(key):
            work.append(DueWork(step.key, to_plan=0, to_send=due_rows[key]))
    return work


def opt_out_by_email(session: Session, email: str, actor: str) -> bool:
    """Stop optional campaign messages to the person with ``email``; False when already done.
    ``EnvolError`` when nobody in the roster has this address."""
    person = person_by_email(session, email)
    if person is None:
        raise EnvolError(f"nobody with the address {email} in the roster.")
    return record_opt_out(session, person.id, actor)


def record_opt_out(session: Session, person_id: int, actor: str) -> bool:
    """Stop optional campaign messages to a person; returns False when already opted out."""
    from plugin.audit.service import record

    if session.get(CampaignOptOut, person_id) is not None:
        return False
    session.add(CampaignOptOut(person_id=person_id, actor=actor))
    record(
        session, actor=actor, action="campaign.opt_out", subject_type="person", subject_id=person_id
    )
    return True
