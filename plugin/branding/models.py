"""What branding set in Mattermost, so that a later change touches only Envol's own settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plugin import clock
from plugin.db import Base
from plugin.erasure import PERSONAL_DATA


class ThemeAssignment(Base):
    """The theme preference Envol set for one user.

    A user whose current theme is exactly ``value`` still has Envol's theme and follows the
    company's colour changes; any other value is their own choice and is never overwritten.
    """

    __tablename__ = "theme_assignment"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True, info=PERSONAL_DATA)
    value: Mapped[str] = mapped_column(Text)
    applied_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class BrandSetting(Base):
    """Something branding set that Mattermost cannot be asked about reliably.

    Images (``brand_image``, ``team_icon:<team id>``) keep the uploaded file's hash, to upload
    again only when the file changes: Mattermost re-encodes images, so bytes cannot be
    compared. ``company_theme`` keeps the theme JSON, for members who join later.
    """

    __tablename__ = "brand_setting"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text, default="")
    applied_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
