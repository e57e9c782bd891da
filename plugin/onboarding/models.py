"""Profile follow-up: one row per person who arrived, until their profile is complete.

``due_at`` is the next time Envol looks at the profile (a nudge or a re-check); NULL means the
person is left alone (complete, or the follow-up period is over). The nudges themselves are
recorded in the outbox (``outbound_message``, keys ``nudge:<person>:<n>``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base
from plugin.erasure import PERSONAL_DATA


class ProfileFollowUp(Base):
    __tablename__ = "profile_follow_up"
    __table_args__ = (Index("ix_profile_follow_up_due", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    mattermost_user_id: Mapped[str] = mapped_column(String(26), index=True, info=PERSONAL_DATA)
    joined_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    score: Mapped[int] = mapped_column(Integer, default=0)
    # The checklist items still missing, e.g. ["position", "picture"].
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    complete: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    checked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    nudges_sent: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(80), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
