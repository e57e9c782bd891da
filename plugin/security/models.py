from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base


class SpentNonce(Base):
    """A single-use token (dialog state) that has been used; kept until it would expire anyway."""

    __tablename__ = "spent_nonce"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
