"""Cohorts (the pilot, managers and champions, waves), waves and their gates, the waitlist."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base
from plugin.erasure import ACTOR, PERSONAL_DATA
from plugin.people.models import Language, string_enum


class CohortKind(enum.StrEnum):
    PILOT = "pilot"
    MANAGERS_CHAMPIONS = "managers_champions"
    WAVE = "wave"
    CUSTOM = "custom"
    # A cohort for trying Envol out (the demo's own checks, a rehearsal): its people are never
    # counted in the adoption figures (plugin/metrics).
    TEST = "test"


class Cohort(Base):
    """A named group of people, e.g. the pilot or the managers-and-champions cohort."""

    __tablename__ = "cohort"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[CohortKind] = mapped_column(string_enum(CohortKind, 30), default=CohortKind.CUSTOM)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    # The launch team's sign-off on the pilot (``approve_pilot``); reset when its members change.
    approved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    approved_by: Mapped[str | None] = mapped_column(String(120), default=None, info=ACTOR)


class CohortMember(Base):
    """A person in a cohort, with who put them there and why (the pilot selection explains)."""

    __tablename__ = "cohort_member"
    __table_args__ = (UniqueConstraint("cohort_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    added_by: Mapped[str] = mapped_column(String(120), default="", info=ACTOR)
    reason: Mapped[str] = mapped_column(String(200), default="", info=PERSONAL_DATA)
    added_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class WaveStatus(enum.StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


class Wave(Base):
    """A cohort + a planned date + the channels it joins; opens only when its gate holds."""

    __tablename__ = "wave"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="RESTRICT"), index=True)
    # Launch order: wave 0 (managers and champions) first, then the pilot, then the rest.
    position: Mapped[int] = mapped_column(Integer, default=0, index=True)
    planned_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    opened_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    status: Mapped[WaveStatus] = mapped_column(string_enum(WaveStatus), default=WaveStatus.PLANNED)
    # Channel names (not ids) the wave's people join, resolved on the server at invitation time.
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    gate_overridden_reason: Mapped[str | None] = mapped_column(Text, default=None)
    gate_overridden_by: Mapped[str | None] = mapped_column(String(120), default=None, info=ACTOR)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class WaveHandoff(Base):
    """A person handed to the invitation engine for a wave: the idempotency key of a launch.

    Launching a wave again hands over only the people without a row here, so nobody is
    invited twice even when the launch is retried after a crash.
    """

    __tablename__ = "wave_handoff"
    __table_args__ = (UniqueConstraint("wave_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    handed_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class WaitlistStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class WaitlistRequest(Base):
    """A request to join made on the public ``/join`` page."""

    __tablename__ = "waitlist_request"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), index=True, info=PERSONAL_DATA)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), default=None, index=True
    )
    reason: Mapped[str] = mapped_column(Text, default="", info=PERSONAL_DATA)
    language: Mapped[Language] = mapped_column(string_enum(Language, 2), default=Language.FR)
    status: Mapped[WaitlistStatus] = mapped_column(
        string_enum(WaitlistStatus), default=WaitlistStatus.PENDING, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    confirmation_sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(120), default=None, info=ACTOR)
    decision_note: Mapped[str] = mapped_column(Text, default="", info=PERSONAL_DATA)
    # The wave the person was placed in, with priority, when the request was approved.
    wave_id: Mapped[int | None] = mapped_column(
        ForeignKey("wave.id", ondelete="SET NULL"), default=None, index=True
    )
