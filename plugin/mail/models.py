"""The journal of accepted messages: Message-IDs an SMTP server answered 250 to.

Written in its own short transaction the moment the server accepts a message, before the caller
records its own outcome. A sender that finds its claim expired (a crash, a lease that ran out
while the send was still in flight) looks here before sending again: a Message-ID found here was
accepted and must not go out twice. No addresses are stored: the Message-ID is a digest.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base


class AcceptedMessage(Base):
    __tablename__ = "mail_accepted_message"

    message_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40), default="")
    accepted_at: Mapped[dt.datetime] = mapped_column(default=clock.now, index=True)
