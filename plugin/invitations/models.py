"""Invitations: one row per (person, wave), and the invite budget.

``Invitation`` walks planned → sent → reminded → joined → activated, or ends expired, failed
(with the reason) or opted out. ``due_at`` says when the dispatcher must look at it next (NULL:
nothing scheduled); ``lease_owner``/``lease_expires_at`` say which worker is working on it
(``plugin.delivery.leases``). Everything sent goes through the outbox
(``plugin.delivery.models.OutboundMessage``). No e-mail address is stored in these tables: they
are read from the roster at send time.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base
from plugin.erasure import PERSONAL_DATA
from plugin.people.models import string_enum


class InvitationState(enum.StrEnum):
    PLANNED = "planned"
    SENT = "sent"
    REMINDED = "reminded"
    JOINED = "joined"
    ACTIVATED = "activated"
    EXPIRED = "expired"
    FAILED = "failed"
    OPTED_OUT = "opted_out"


# States in which the person has not arrived yet and may still be sent something.
AWAITING_STATES = (InvitationState.PLANNED, InvitationState.SENT, InvitationState.REMINDED)
# States a join detection may still move to ``joined`` (a late arrival after expiry counts).
JOINABLE_STATES = (*AWAITING_STATES, InvitationState.EXPIRED, InvitationState.FAILED)


class InvitationStrategy(enum.StrEnum):
    """How the person was (or will be) invited. ``existing_user`` is decided per person at send
    time (already on Mattermost); the others come from ``RuntimeSettings.invitation_strategy``."""

    EXISTING_USER = "existing_user"
    MATTERMOST_EMAIL = "mattermost_email"
    ENVOL_EMAIL = "envol_email"
    SSO = "sso"


class Invitation(Base):
    __tablename__ = "invitation"
    __table_args__ = (
        UniqueConstraint("person_id", "wave_id"),
        Index("ix_invitation_due", "due_at", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # NULL once the person was forgotten: the anonymous row still counts in the funnel.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    state: Mapped[InvitationState] = mapped_column(
        string_enum(InvitationState), default=InvitationState.PLANNED, index=True
    )
    strategy: Mapped[InvitationStrategy | None] = mapped_column(
        string_enum(InvitationStrategy), default=None
    )
    due_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(80), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Consecutive temporary failures of the current step (reset when the step succeeds).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="", info=PERSONAL_DATA)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # When the last Mattermost invitation (48-hour token) was issued.
    issued_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    joined_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    activated_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    mattermost_user_id: Mapped[str | None] = mapped_column(
        String(26), default=None, info=PERSONAL_DATA
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    def __repr__(self) -> str:
        return f"<Invitation {self.id} wave={self.wave_id} {self.state.value}>"


class InviteBudget(Base):
    """Mattermost's e-mail invitation allowance for one sending account, as a token bucket
    kept in the database so that every worker process shares it (20 an hour, burst 20)."""

    __tablename__ = "invite_budget"

    sender: Mapped[str] = mapped_column(String(80), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
