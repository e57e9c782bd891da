"""Polls (one question, buttons, one changeable vote per person) and the launch survey."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base
from plugin.erasure import ACTOR, PERSONAL_DATA


class Poll(Base):
    """A question posted with one button per option; the post shows the running tally."""

    __tablename__ = "poll"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # Stable key: the seed content's slug, or one given to ``envol survey post``. Posting the
    # same key again reuses the poll instead of creating a second one.
    key: Mapped[str] = mapped_column(String(80), unique=True)
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(2), default="fr")
    channel_id: Mapped[str | None] = mapped_column(String(26), default=None)
    post_id: Mapped[str | None] = mapped_column(String(26), default=None, unique=True)
    # The post's own text and other props (e.g. seed content's marker), kept when the tally is
    # redrawn: an action's ``update`` replaces the whole post. None until first read.
    post_message: Mapped[str | None] = mapped_column(Text, default=None)
    post_extra_props: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(120), default="", info=ACTOR)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    posted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class PollVote(Base):
    """One person's current choice in a poll; voting again replaces it."""

    __tablename__ = "poll_vote"
    __table_args__ = (UniqueConstraint("poll_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(26), info=PERSONAL_DATA)
    option_index: Mapped[int] = mapped_column(Integer)
    voted_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class SurveyDispatch(Base):
    """The launch survey sent to one person for one wave: the idempotency key of sending."""

    __tablename__ = "survey_dispatch"
    __table_args__ = (UniqueConstraint("wave_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    claimed_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    post_id: Mapped[str | None] = mapped_column(String(26), default=None)
    error: Mapped[str] = mapped_column(String(300), default="")


class SurveyResponse(Base):
    """Answers to the four launch questions (1 to 5) and an optional comment; changeable."""

    __tablename__ = "survey_response"
    __table_args__ = (UniqueConstraint("user_id", "wave_key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(26), index=True, info=PERSONAL_DATA)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), default=None, index=True
    )
    wave_id: Mapped[int | None] = mapped_column(
        ForeignKey("wave.id", ondelete="SET NULL"), default=None, index=True
    )
    # ``wave_id`` or 0 when the person is in no wave: a unique key that NULL would not give.
    wave_key: Mapped[int] = mapped_column(Integer, default=0)
    why_network: Mapped[int] = mapped_column(Integer)
    what_for_me: Mapped[int] = mapped_column(Integer)
    how_to_use: Mapped[int] = mapped_column(Integer)
    what_expected: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="", info=PERSONAL_DATA)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    @property
    def mean(self) -> float:
        return (self.why_network + self.what_for_me + self.how_to_use + self.what_expected) / 4
