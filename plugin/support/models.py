"""Support requests (difficulties, questions, ideas) and the FAQ entries animators add."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base
from plugin.erasure import PERSONAL_DATA
from plugin.people.models import string_enum


class TicketCategory(enum.StrEnum):
    DIFFICULTY = "difficulty"
    QUESTION = "question"
    IDEA = "idea"


class TicketStatus(enum.StrEnum):
    # Submitted; FAQ suggestions offered to the requester, nothing posted yet.
    SUGGESTED = "suggested"
    # The requester said a FAQ answer solved it: closed without bothering the animators.
    SELF_SERVED = "self_served"
    OPEN = "open"
    TAKEN = "taken"
    ANSWERED = "answered"
    RESOLVED = "resolved"


class SupportTicket(Base):
    """One request from the support dialog, and its life in the support (or ideas) channel."""

    __tablename__ = "support_ticket"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    requester_user_id: Mapped[str] = mapped_column(String(26), index=True, info=PERSONAL_DATA)
    # The roster person, when known; ``people forget`` removes their requests with them.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), default=None, index=True
    )
    category: Mapped[TicketCategory] = mapped_column(string_enum(TicketCategory))
    description: Mapped[str] = mapped_column(Text, info=PERSONAL_DATA)
    language: Mapped[str] = mapped_column(String(2), default="fr")
    status: Mapped[TicketStatus] = mapped_column(
        string_enum(TicketStatus), default=TicketStatus.SUGGESTED, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    # FAQ slugs offered before posting, best first.
    suggested_slugs: Mapped[list[str]] = mapped_column(JSON, default=list)
    suggestion_post_id: Mapped[str | None] = mapped_column(String(26), default=None)
    # Set when the requester asks to post; the posting task runs only while this is set and
    # ``root_post_id`` is not, so a retried task never posts twice.
    post_requested_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    channel_id: Mapped[str | None] = mapped_column(String(26), default=None)
    root_post_id: Mapped[str | None] = mapped_column(String(26), default=None, unique=True)
    posted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    assignee_user_id: Mapped[str | None] = mapped_column(
        String(26), default=None, info=PERSONAL_DATA
    )
    taken_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    answer: Mapped[str] = mapped_column(Text, default="", info=PERSONAL_DATA)
    answered_by: Mapped[str | None] = mapped_column(String(26), default=None, info=PERSONAL_DATA)
    answered_at: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(26), default=None, info=PERSONAL_DATA)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # What the requester was told, so a retried notification task says nothing twice.
    requester_told_answered_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    requester_told_resolved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_reminded_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    reminder_count: Mapped[int] = mapped_column(Integer, default=0)
    # Ideas: the reactions on the post, counted by a task (distinct people).
    vote_count: Mapped[int] = mapped_column(Integer, default=0)
    votes_counted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    faq_slug: Mapped[str | None] = mapped_column(String(80), default=None)
    # A task working on the ticket's Mattermost side holds it (``plugin.delivery.leases``): the
    # network calls run outside any transaction, and two workers never do the same work at once.
    lease_owner: Mapped[str | None] = mapped_column(String(80), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    def __repr__(self) -> str:  # no description: it may hold personal details
        return f"<SupportTicket {self.id} {self.category.value} {self.status.value}>"


class SupportFaqEntry(Base):
    """A FAQ entry an animator made from a ticket; matched alongside ``seed_content/faq``."""

    __tablename__ = "support_faq_entry"
    __table_args__ = (UniqueConstraint("slug", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(2))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_ticket.id", ondelete="SET NULL"), default=None
    )
    created_by: Mapped[str] = mapped_column(String(26), default="", info=PERSONAL_DATA)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
