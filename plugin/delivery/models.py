"""What delivery keeps in the database: the outbox and the journal of accepted e-mails.

``OutboundMessage`` is the outbox: one row per logical send (an invitation e-mail, a reminder, a
Mattermost invitation, a welcome DM, a nudge, a manager digest, a launch survey), keyed by a
natural idempotency key such as ``invite:42:0`` or ``welcome:17``. Its ``sending`` state is
committed *before* the send, so a crash leaves evidence that a send may have happened (see
``plugin.delivery.outbox``). No e-mail address is stored here: they are read from the roster at
send time.

``AcceptedMessage`` is the journal of accepted messages: Message-IDs an SMTP server answered 250
to, written in its own short transaction the moment the server accepts a message, before the
caller records its own outcome. A sender that finds its claim expired (a crash, a lease that ran
out while the send was still in flight) looks here before sending again: a Message-ID found here
was accepted and must not go out twice. The Message-ID is a digest, not an address.

The table names predate this package (``outbound_message`` was the invitations' outbox,
``mail_accepted_message`` the mail package's journal) and are kept: renaming them would be a
migration for nothing.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base, string_enum


class OutboundState(enum.StrEnum):
    SENDING = "sending"  # committed before the send: a crash leaves this behind
    SENT = "sent"
    # A crash happened between "sending" and "sent" and the receiver cannot be asked (SMTP,
    # Mattermost's invitation e-mail): never re-sent automatically, shown by `status`.
    UNCERTAIN = "uncertain"
    RETRY = "retry"  # a temporary failure: the next attempt may send
    FAILED = "failed"  # a permanent failure


class OutboundChannel(enum.StrEnum):
    SMTP = "smtp"
    MATTERMOST_INVITE = "mattermost_invite"
    DIRECT_MESSAGE = "direct_message"


class OutboundMessage(Base):
    __tablename__ = "outbound_message"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    channel: Mapped[OutboundChannel] = mapped_column(string_enum(OutboundChannel, 30))
    # Foreign keys by table name only: delivery imports no capability.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), default=None, index=True
    )
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id", ondelete="SET NULL"), default=None, index=True
    )
    state: Mapped[OutboundState] = mapped_column(string_enum(OutboundState), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str] = mapped_column(String(80), default="")
    # The deterministic Message-ID of an e-mail, or the Mattermost post id of a DM.
    reference: Mapped[str] = mapped_column(String(255), default="")
    # The DM channel, so that a crashed send can be checked for its marker.
    channel_ref: Mapped[str] = mapped_column(String(26), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class AcceptedMessage(Base):
    __tablename__ = "mail_accepted_message"

    message_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40), default="")
    accepted_at: Mapped[dt.datetime] = mapped_column(default=clock.now, index=True)
