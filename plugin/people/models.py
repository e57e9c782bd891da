"""The roster: who works here, as HR exports it, and what the launch needs to know about them.

Only what the launch needs is kept (name, e-mail, department, site, manager, role, language,
volunteer flag); ``people forget`` erases a person from every table that refers to them.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin import clock
from plugin.db import Base, string_enum
from plugin.erasure import ACTOR, PERSONAL_DATA


class PersonRole(enum.StrEnum):
    EMPLOYEE = "employee"
    MANAGER = "manager"
    CHAMPION = "champion"
    COMMITTEE = "committee"


class PersonStatus(enum.StrEnum):
    ACTIVE = "active"
    LEFT = "left"


class Language(enum.StrEnum):
    FR = "fr"
    EN = "en"


class RosterImport(Base):
    """One import of a roster file. People not stamped by the latest import have left."""

    __tablename__ = "roster_import"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    actor: Mapped[str] = mapped_column(String(120), default="", info=ACTOR)
    # The file's base name only: a full path may contain a person's home directory name.
    source_name: Mapped[str] = mapped_column(String(255), default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    marked_left: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)


class Person(Base):
    """An employee from the roster. Never deleted by an import: leavers get ``status=left``."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # Always stored trimmed and lowercased: the one identity key of the roster.
    email: Mapped[str] = mapped_column(String(254), unique=True, info=PERSONAL_DATA)
    first_name: Mapped[str] = mapped_column(String(120), info=PERSONAL_DATA)
    last_name: Mapped[str] = mapped_column(String(120), info=PERSONAL_DATA)
    department: Mapped[str] = mapped_column(String(120), default="", index=True)
    site: Mapped[str] = mapped_column(String(120), default="", index=True)
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), default=None, index=True
    )
    role: Mapped[PersonRole] = mapped_column(string_enum(PersonRole), default=PersonRole.EMPLOYEE)
    language: Mapped[Language] = mapped_column(string_enum(Language, 2), default=Language.FR)
    volunteer: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[PersonStatus] = mapped_column(
        string_enum(PersonStatus), default=PersonStatus.ACTIVE, index=True
    )
    left_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Set once the person is found on Mattermost (invitation accepted, or matched by e-mail).
    mattermost_user_id: Mapped[str | None] = mapped_column(
        String(26), default=None, index=True, info=PERSONAL_DATA
    )
    last_seen_import_id: Mapped[int | None] = mapped_column(
        ForeignKey("roster_import.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    manager: Mapped[Person | None] = relationship(remote_side=[id], lazy="raise_on_sql")

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_active(self) -> bool:
        return self.status == PersonStatus.ACTIVE

    def __repr__(self) -> str:  # no e-mail: reprs end up in logs
        return f"<Person {self.id} {self.role.value} {self.status.value}>"
