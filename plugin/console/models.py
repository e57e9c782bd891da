"""Console sessions, kept on the server.

A session row rather than Flask's signed-cookie session: signing out (or an admin revoking a
session) ends it for every copy of the cookie, the cookie carries nothing but a random key, and
the database stores only that key's hash, so a copy of the database opens no session.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base
from plugin.erasure import PERSONAL_DATA


class ConsoleSession(Base):
    __tablename__ = "console_session"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # sha256 of the cookie's random value, hex.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(26), index=True, info=PERSONAL_DATA)
    username: Mapped[str] = mapped_column(String(64), info=PERSONAL_DATA)
    # The role when signing in; every state change asks Mattermost again.
    role: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    signed_out_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    def __repr__(self) -> str:  # never the key or the CSRF token
        return f"<ConsoleSession {self.id} @{self.username} {self.role}>"
