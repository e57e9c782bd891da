"""Shared fixtures: databases (SQLite and PostgreSQL), an Envol context, an SMTP server.

Every test that takes ``db_session`` or ``envol_context`` runs twice: on SQLite and on
PostgreSQL. A server that is absent skips those tests with the reason, except under ``CI=true``
where it is a failure: CI must exercise both.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import plugin.tasks  # noqa: F401 - the Celery app installs the after-commit task sender
from plugin import clock
from plugin.app import EnvolContext, build_context, set_context
from plugin.db import make_engine, make_session_factory
from plugin.models import metadata
from plugin.settings import load_deploy_settings

# Capability fixtures live in their own pytest plugins; list them here.
pytest_plugins = [
    "tests.helpers.smtp",
    "tests.helpers.sandbox",
    "tests.support.world",
    "tests.metrics.world",
    "tests.console.world",
]

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "ENVOL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("ENVOL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def server_reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Skip when a server is absent; under CI=true, fail instead."""
    if server_reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message}; .ci/run should have started it")
    pytest.skip(message)


# --------------------------------------------------------------------------- databases


def _create_postgres_database() -> tuple[str, Engine]:
    require_server("PostgreSQL", "127.0.0.1", 5432)
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"envol_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    return url, admin


def _drop_postgres_database(admin: Engine, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database of each kind, for the whole session, with the models' tables."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'envol.db'}"
        admin = None
    else:
        url, admin = _create_postgres_database()
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    yield url
    if admin is not None:
        _drop_postgres_database(admin, url)


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(db_engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test.

    The code under test may commit: its commits become savepoints of the outer transaction.
    """
    connection = db_engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def envol_context(database_url: str, tmp_path: Path) -> Iterator[EnvolContext]:
    """A real context whose sessions commit, for code that opens its own sessions (tasks,
    webhooks, threads). Tables are emptied afterwards. Installed as the process context."""
    settings = load_deploy_settings(
        database_url=database_url,
        broker_url=f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        secret_key="test-secret-key-0123456789-abcdefghijklmnop",
        public_url="http://127.0.0.1:8080",
    )
    context = build_context(settings)
    set_context(context)
    try:
        yield context
    finally:
        set_context(None)
        with context.engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())
        context.dispose()


@pytest.fixture
def session_factory(envol_context: EnvolContext):  # type: ignore[no-untyped-def]
    return make_session_factory(envol_context.engine)


# --------------------------------------------------------------------------- time


@pytest.fixture
def frozen_clock() -> Iterator[clock.FrozenClock]:
    import datetime as dt

    frozen = clock.FrozenClock(dt.datetime(2027, 1, 15, 9, 0, tzinfo=dt.UTC))
    clock.set_source(frozen)
    yield frozen
    clock.reset()
