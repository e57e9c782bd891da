"""Database plumbing: the declarative base, engines, sessions and Alembic's configuration.

One module owns how Envol talks to its database so that SQLite (a fresh clone) and
PostgreSQL (production) behave the same for every capability.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import os
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    DateTime,
    Engine,
    Enum,
    MetaData,
    Table,
    TextClause,
    bindparam,
    create_engine,
    event,
    exc,
    text,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from plugin.errors import ConfigurationError
from plugin.resources import CONTENT_ROOT

# Constraint names must be deterministic, or Alembic cannot drop or alter them
# (SQLite batch mode rebuilds tables by name).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_BEGIN_IMMEDIATE = "envol_begin_immediate"

PROJECT_ROOT = CONTENT_ROOT  # migrations/ and seed_content/ (plugin/resources.py)
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zone type: without this, values come back naive and comparisons
    with aware datetimes fail at run time instead of at test time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; use plugin.clock.now()")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}  # noqa: RUF012 - read by SQLAlchemy


def string_enum(kind: type[enum.Enum], length: int = 20) -> Enum:
    # Stored as plain strings (the values, not the names) on both backends: no native PostgreSQL
    # enum types to migrate when a value is added, and readable rows in SQLite.
    return Enum(
        kind,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


URL_EXAMPLES = "sqlite:///envol.db or postgresql+psycopg://user:password@host:5432/envol"


def _scheme(url: str) -> str:
    # Never the whole URL in a message: it may hold a password.
    return url.split("://", 1)[0] if "://" in url else "(no scheme)"


def _create_engine(url: str, **kwargs: Any) -> Engine:
    """``create_engine``, whose failures on a wrong URL become one sentence naming the setting:
    a missing driver (``postgresql://`` means psycopg2, which Envol does not install), an
    unknown dialect, a URL that cannot be parsed."""
    try:
        return create_engine(url, **kwargs)
    except exc.NoSuchModuleError as error:
        raise ConfigurationError(
            f"ENVOL_DATABASE_URL: {_scheme(url)}:// is not a database Envol can use; "
            f"write {URL_EXAMPLES}."
        ) from error
    except ImportError as error:
        raise ConfigurationError(
            f"ENVOL_DATABASE_URL: the driver for {_scheme(url)}:// is not installed "
            f"({error.name or error}); for PostgreSQL write postgresql+psycopg://… and run "
            "`pip install 'envol[postgresql]'`."
        ) from error
    except exc.ArgumentError as error:
        raise ConfigurationError(
            f"ENVOL_DATABASE_URL cannot be read as a database URL; write {URL_EXAMPLES}."
        ) from error


# SQLite engines whose pooled connections a forked child must forget. One fork hook for all of
# them (registered once below), not one per engine: the tests make hundreds of engines.
_POOLED_SQLITE_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_pooled_connections_in_child() -> None:
    for engine in list(_POOLED_SQLITE_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_pooled_connections_in_child)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the per-backend settings Envol relies on.

    SQLite runs in WAL mode with a busy timeout so that the webhooks, a worker and the CLI can
    share one file without "database is locked" errors under normal load.
    """
    if is_sqlite(url):
        kwargs.setdefault("connect_args", {"timeout": 30})
        # Pooled (SQLAlchemy's default for a file): opening and closing a connection per
        # session cost about a millisecond (the file, the pragmas below, the WAL's shared
        # memory), paid thousands of times by a launch. A forked Celery child must not share
        # its parent's open connections, so it forgets them without closing them (SQLAlchemy's
        # advice for multiprocessing) and opens its own.
        # Five kept open; beyond them, as many as the threads need (closed when returned),
        # as before pooling: a busy webhooks server must never wait 30 s for a free one.
        kwargs.setdefault("max_overflow", -1)
        engine = _create_engine(url, **kwargs)
        _POOLED_SQLITE_ENGINES.add(engine)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling defers BEGIN; take control so that every
            # transaction begins IMMEDIATE (below) and SAVEPOINTs work.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL is durable against application crashes and never corrupts;
            # only a power loss may drop the last commits. FULL would fsync every commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "checkout")
        def _sqlite_own_transactions(dbapi_connection: Any, *_: Any) -> None:
            # A pooled connection that served an AUTOCOMMIT connection (the e-mail journal)
            # comes back with pysqlite's implicit transactions on (SQLAlchemy resets it to
            # the default level): take control again, as on connect.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A unit of work (``transaction()``) takes the write lock up front: a deferred
            # transaction that reads and then writes fails at once with "database is locked"
            # when another connection wrote meanwhile (the busy timeout cannot help that
            # upgrade), whereas IMMEDIATE waits its turn. Reads stay deferred and concurrent.
            options = conn.get_execution_options()
            if options.get("isolation_level") == "AUTOCOMMIT":
                return  # each statement its own transaction (the e-mail journal's INSERTs)
            immediate = options.get(_BEGIN_IMMEDIATE)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return _create_engine(url, **kwargs)


_T = TypeVar("_T")

# Values per ``IN (…)`` clause: well under every backend's bound-parameter limit.
IN_CHUNK = 500


def in_chunks(items: Sequence[_T], size: int = IN_CHUNK) -> Iterator[Sequence[_T]]:
    """``items`` a chunk at a time, for one ``column.in_(chunk)`` query each."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_unless_present(
    table: Table, columns: Sequence[str], unique: str, *, returning: str | None = None
) -> TextClause:
    """``INSERT INTO table (columns) VALUES (…) ON CONFLICT (unique) DO NOTHING [RETURNING …]``,
    bound by name (``:column``), the values going through the columns' own types (enums'
    values, ``UTCDateTime``) as an ORM INSERT's do. One statement where a SAVEPOINT, an INSERT
    and its RELEASE (or a read first) made three; on PostgreSQL a concurrent INSERT of the same
    key waits for the first to commit, then does nothing. The same SQL on both backends
    (SQLite since 3.35), as text because SQLAlchemy 2.0 compiles its dialects'
    ``on_conflict_do_nothing`` again at every execution (that INSERT is not cacheable: a
    millisecond a row)."""
    names = ", ".join(f'"{name}"' for name in columns)
    values = ", ".join(f":{name}" for name in columns)
    sql = (
        f'INSERT INTO {table.name} ({names}) VALUES ({values}) ON CONFLICT ("{unique}") DO NOTHING'
    )
    if returning is not None:
        sql += f' RETURNING "{returning}"'
    return text(sql).bindparams(*(bindparam(name, type_=table.c[name].type) for name in columns))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session committed on success and rolled back on any error: one unit of work."""
    session = factory()
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={_BEGIN_IMMEDIATE: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def unreachable(engine: Engine) -> str | None:
    """Why the database does not answer (the error's type), or None when it does."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not healthy"; the reason is reported
        return type(error).__name__
    return None


# SQLite says "no such table", psycopg raises UndefinedTable ("relation … does not exist").
_MISSING_TABLE = ("no such table", "undefinedtable")
_NO_CONNECTION = (
    "connection refused",
    "could not connect",
    "connection failed",
    "could not translate host name",
    "name or service not known",
    "timeout expired",
    "server closed the connection",
)
NOT_MIGRATED = (
    "the database has no Envol tables yet (or misses the latest ones): run `envol db upgrade`, "
    "then this command again."
)


@dataclass(frozen=True)
class DatabaseFailure:
    """A database failure an admin can fix: ``kind`` is ``not_migrated``, ``cannot_open`` or
    ``no_answer``; ``reason`` the driver's first line (``no_answer`` only). The CLI words it in
    the operator's language; ``sentence`` is the English one."""

    kind: str
    reason: str = ""

    @property
    def sentence(self) -> str:
        if self.kind == "not_migrated":
            return NOT_MIGRATED
        if self.kind == "cannot_open":
            return (
                "the SQLite database file cannot be opened: check that the folder in "
                "ENVOL_DATABASE_URL exists and is writable, then try again."
            )
        return (
            f"the database does not answer ({self.reason}): check ENVOL_DATABASE_URL and that "
            "the database server is running, then try again."
        )


def database_failure(error: BaseException) -> DatabaseFailure | None:
    """What an admin can fix about a database failure (not migrated, not reachable), or None
    when ``error`` is something else. Never the URL: it may hold a password."""
    if not isinstance(error, exc.DBAPIError):
        return None
    original = error.orig if error.orig is not None else error
    said = f"{type(original).__name__} {original}".lower()
    if any(marker in said for marker in _MISSING_TABLE):
        return DatabaseFailure("not_migrated")
    if "unable to open database file" in said:  # SQLite: a missing folder, no permission
        return DatabaseFailure("cannot_open")
    if isinstance(error, exc.OperationalError | exc.InterfaceError) and (
        error.connection_invalidated or any(marker in said for marker in _NO_CONNECTION)
    ):
        reason = str(original).strip().splitlines()[0] if str(original).strip() else "no answer"
        return DatabaseFailure("no_answer", reason)
    return None


def explain_database_error(error: BaseException) -> str | None:
    """``database_failure``'s English sentence."""
    failure = database_failure(error)
    return failure.sentence if failure is not None else None


def discard_if_empty(database_url: str) -> bool:
    """Remove a SQLite file that holds no table at all, e.g. the one opening a database that
    did not exist creates; True when removed. Any other database is left alone."""
    try:
        url = make_url(database_url)
    except exc.ArgumentError:
        return False
    name = url.database
    if not url.drivername.startswith("sqlite") or not name or name == ":memory:":
        return False
    path = Path(name)
    if not path.is_file():
        return False
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.Error:
        return False
    if tables:
        return False
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    return True


def alembic_config(database_url: str) -> Any:
    """Alembic's configuration built in code, so no alembic.ini is needed at the top level."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
        discard_if_empty(database_url)  # asking a database that did not exist creates none


def schema_drift(database_url: str, metadata: MetaData) -> list[str]:
    """Differences between the migrated database and ``metadata`` (``plugin.models.metadata``,
    every capability's models); empty when in step.

    The database must be at head: a pending migration is reported as drift too.
    """
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            problems = []
            current = set(context.get_current_heads())
            if current != heads:
                problems.append(
                    f"database at {sorted(current) or 'no revision'}, head is {sorted(heads)}"
                )
            problems += [repr(diff) for diff in compare_metadata(context, metadata)]
            return problems
    finally:
        engine.dispose()
        discard_if_empty(database_url)
