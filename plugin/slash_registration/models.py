"""The slash commands Envol registered on Mattermost, with the token each request must carry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base


class SlashCommandRegistration(Base):
    """One trigger on one team. The token is a shared secret: never logged, never printed."""

    __tablename__ = "slash_command_registration"
    __table_args__ = (UniqueConstraint("team_id", "trigger"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(26))
    trigger: Mapped[str] = mapped_column(String(128))
    command_id: Mapped[str] = mapped_column(String(26), unique=True)
    token: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    def __repr__(self) -> str:
        return f"<SlashCommandRegistration /{self.trigger} team={self.team_id}>"
