"""What the communication plan did and has to do, one row per (step, recipient).

``CampaignDelivery`` is the unit of sending and its natural idempotency key is
``(step_key, recipient_key)``: a duplicate beat, a redelivered task or a re-plan can only find
the existing row, never add a second one. ``CampaignStepRun`` records that a step became due
and whom it was materialised for, so moving the launch date re-plans only what is not sent.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base
from plugin.erasure import ACTOR
from plugin.people.models import string_enum


class DeliveryStatus(enum.StrEnum):
    PLANNED = "planned"  # waiting for next_attempt_at (first try or a retry after backoff)
    SENDING = "sending"  # claimed under a lease; the outcome is not recorded yet
    SENT = "sent"
    FAILED = "failed"  # permanent refusal, template failure, or retries exhausted
    SKIPPED = "skipped"  # opted out, no address, no manager: nothing to send, on purpose


class StepRunStatus(enum.StrEnum):
    MATERIALISED = "materialised"
    MISSED = "missed"  # due long before Envol first saw it: not sent late, reported instead


class CampaignStepRun(Base):
    __tablename__ = "campaign_step_run"

    step_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    status: Mapped[StepRunStatus] = mapped_column(string_enum(StepRunStatus, 20))
    due_at: Mapped[dt.datetime] = mapped_column()
    launch_date: Mapped[dt.date] = mapped_column()
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    materialised_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class CampaignDelivery(Base):
    __tablename__ = "campaign_delivery"
    __table_args__ = (
        UniqueConstraint("step_key", "recipient_key"),
        Index("ix_campaign_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    step_key: Mapped[str] = mapped_column(String(120), index=True)
    # "person:<id>" or "channel:<name>": stays unique and meaningless once a person is forgotten.
    recipient_key: Mapped[str] = mapped_column(String(160))
    # SET NULL: `people forget` deletes the person; the row remains as an anonymous count.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), default=None, index=True
    )
    channel: Mapped[str] = mapped_column(String(10))  # email | dm | post (after any fallback)
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[DeliveryStatus] = mapped_column(
        string_enum(DeliveryStatus, 10), default=DeliveryStatus.PLANNED
    )
    due_at: Mapped[dt.datetime] = mapped_column()
    next_attempt_at: Mapped[dt.datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_token: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Derived from the idempotency key: the same on every attempt, so an acceptance can be found.
    message_ref: Mapped[str] = mapped_column(String(255))
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Claimed again after a lease expired with no outcome recorded: look for the first attempt's
    # acceptance before sending anything.
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    error_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class CampaignOptOut(Base):
    """A person who asked not to receive the campaign's optional messages (List-Unsubscribe).

    Mandatory messages (the CEO's announcement, launch day) still reach them.
    """

    __tablename__ = "campaign_opt_out"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    recorded_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    actor: Mapped[str] = mapped_column(String(120), default="", info=ACTOR)


class StepDecision(enum.StrEnum):
    APPROVED = "approved"
    HELD = "held"


class CampaignStepDecision(Base):
    """The launch team's word on a step before it goes out: approved, or held (not sent while
    held). A step with no decision goes out on its date, as planned."""

    __tablename__ = "campaign_step_decision"

    step_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    decision: Mapped[StepDecision] = mapped_column(string_enum(StepDecision, 10))
    decided_by: Mapped[str] = mapped_column(String(120), info=ACTOR)
    decided_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    reason: Mapped[str] = mapped_column(Text, default="")
