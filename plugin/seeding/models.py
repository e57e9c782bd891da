"""What seeding created in Mattermost: one row per object, so a re-apply changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base


class SeededObject(Base):
    """A team, channel, bookmark, post or reply Envol created (or adopted) in Mattermost.

    ``content_hash`` is the hash of the content last applied; ``observed_hash`` the hash of
    what Mattermost showed right after, so that a later difference in Mattermost is drift
    (someone edited or deleted it) and a difference in the files is an update.
    """

    __tablename__ = "seeded_object"
    __table_args__ = (UniqueConstraint("kind", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    slug: Mapped[str] = mapped_column(String(200))
    mattermost_id: Mapped[str] = mapped_column(String(64), index=True)
    # The team id of a channel, the channel id of a post or bookmark, the root id of a reply.
    parent_id: Mapped[str] = mapped_column(String(64), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    observed_hash: Mapped[str] = mapped_column(String(64))
    # The fields applied (for the plan's diffs) and how a post was published (as whom).
    applied: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    applied_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
