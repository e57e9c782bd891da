"""Adoption measures: one snapshot a day, per person and per group, with the history kept.

A snapshot is taken once a day (taking it again the same day replaces that day's rows, so a
retried task never counts twice). Per-person rows feed the aggregates; the aggregates feed the
wave gates, their trends and the reports. Posts seen on Mattermost are remembered by id, so that
fetching "posts since the last snapshot" with an overlap never counts a post twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base
from plugin.erasure import PERSONAL_DATA


class MetricsSnapshot(Base):
    """One day's collection: when it ran and what it cost in Mattermost requests."""

    __tablename__ = "metrics_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    taken_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    people: Mapped[int] = mapped_column(Integer, default=0)
    channels: Mapped[int] = mapped_column(Integer, default=0)
    posts_fetched: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    # Fewest requests that could gather the same data (see ``collect.minimum_requests``).
    minimum_requests: Mapped[int] = mapped_column(Integer, default=0)


class PersonSnapshot(Base):
    """Where one person stood on the day. Group keys are copied so history survives moves."""

    __tablename__ = "metrics_person_snapshot"
    __table_args__ = (UniqueConstraint("snapshot_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("metrics_snapshot.id", ondelete="CASCADE"), index=True
    )
    # ``people forget`` deletes the person: their daily rows go with them, the aggregates stay.
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    department: Mapped[str] = mapped_column(String(120), default="")
    site: Mapped[str] = mapped_column(String(120), default="")
    manager_id: Mapped[int | None] = mapped_column(Integer, default=None)
    invited: Mapped[bool] = mapped_column(Boolean, default=False)
    joined: Mapped[bool] = mapped_column(Boolean, default=False)
    profile_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    active_7d: Mapped[bool] = mapped_column(Boolean, default=False)
    contributed_7d: Mapped[bool] = mapped_column(Boolean, default=False)
    contributed_28d: Mapped[bool] = mapped_column(Boolean, default=False)
    last_activity_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    posts_7d: Mapped[int] = mapped_column(Integer, default=0)
    replies_7d: Mapped[int] = mapped_column(Integer, default=0)
    posts_28d: Mapped[int] = mapped_column(Integer, default=0)
    replies_28d: Mapped[int] = mapped_column(Integer, default=0)


class GroupSnapshot(Base):
    """The measures of one group on one day: everyone, a cohort, a wave, a department, a site
    or a manager's direct reports. ``day`` is copied from the snapshot for trend queries."""

    __tablename__ = "metrics_group_snapshot"
    __table_args__ = (UniqueConstraint("snapshot_id", "dimension", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("metrics_snapshot.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    # all | cohort | wave | department | site | manager
    dimension: Mapped[str] = mapped_column(String(20), index=True)
    # Cohort, wave and manager: the id; department and site: the name; all: "all".
    key: Mapped[str] = mapped_column(String(120))
    # Names of cohorts, waves, departments and sites. Never a person's name: managers are shown
    # by looking their name up at report time, so a forgotten manager disappears from reports.
    label: Mapped[str] = mapped_column(String(200), default="")
    population: Mapped[int] = mapped_column(Integer, default=0)
    invited: Mapped[int] = mapped_column(Integer, default=0)
    joined: Mapped[int] = mapped_column(Integer, default=0)
    profile_complete: Mapped[int] = mapped_column(Integer, default=0)
    active_7d: Mapped[int] = mapped_column(Integer, default=0)
    contributed_7d: Mapped[int] = mapped_column(Integer, default=0)
    contributed_28d: Mapped[int] = mapped_column(Integer, default=0)
    posts_7d: Mapped[int] = mapped_column(Integer, default=0)
    replies_7d: Mapped[int] = mapped_column(Integer, default=0)
    tickets_opened: Mapped[int] = mapped_column(Integer, default=0)
    tickets_resolved: Mapped[int] = mapped_column(Integer, default=0)
    survey_responses: Mapped[int] = mapped_column(Integer, default=0)
    # Means of the four launch questions (1 to 5); None without any answer.
    survey_why_network: Mapped[float | None] = mapped_column(Float, default=None)
    survey_what_for_me: Mapped[float | None] = mapped_column(Float, default=None)
    survey_how_to_use: Mapped[float | None] = mapped_column(Float, default=None)
    survey_what_expected: Mapped[float | None] = mapped_column(Float, default=None)


class SpaceSnapshot(Base):
    """Posts and replies in one channel (a space) over the last 7 and 28 days."""

    __tablename__ = "metrics_space_snapshot"
    __table_args__ = (UniqueConstraint("snapshot_id", "channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("metrics_snapshot.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[str] = mapped_column(String(26))
    channel_name: Mapped[str] = mapped_column(String(200), default="")
    posts_7d: Mapped[int] = mapped_column(Integer, default=0)
    replies_7d: Mapped[int] = mapped_column(Integer, default=0)
    posts_28d: Mapped[int] = mapped_column(Integer, default=0)
    replies_28d: Mapped[int] = mapped_column(Integer, default=0)
    contributors_7d: Mapped[int] = mapped_column(Integer, default=0)


class ObservedPost(Base):
    """A post by a person seen in a watched channel; the primary key makes re-reads harmless."""

    __tablename__ = "metrics_observed_post"

    post_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(26), index=True)
    user_id: Mapped[str] = mapped_column(String(26), index=True, info=PERSONAL_DATA)
    is_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)


class ChannelCursor(Base):
    """How far the posts of one channel have been read (the server's ``update_at``, in ms)."""

    __tablename__ = "metrics_channel_cursor"

    channel_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    channel_name: Mapped[str] = mapped_column(String(200), default="")
    read_until_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class WeeklyReportPost(Base):
    """The weekly report of one ISO week: claimed before posting, so it is posted once."""

    __tablename__ = "metrics_weekly_report"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    week: Mapped[str] = mapped_column(String(10), unique=True)  # e.g. 2027-W03
    snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("metrics_snapshot.id", ondelete="SET NULL"), default=None
    )
    claimed_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    channel_id: Mapped[str] = mapped_column(String(26), default="")
    file_id: Mapped[str] = mapped_column(String(26), default="")
    post_id: Mapped[str | None] = mapped_column(String(26), default=None)
    posted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(Text, default="")
