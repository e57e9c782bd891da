"""Fixtures over the resilience harness (``harness.py``): servers the test may break, real
``envol worker`` processes, the beat, and a wave started on them. Each is stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plugin.app import EnvolContext
from plugin.sandbox import Sandbox
from tests.conftest import IN_CI
from tests.helpers.smtp import free_port
from tests.resilience.harness import (
    REDIS_SERVER,
    Beat,
    PrivateRedis,
    SwitchableSmtp,
    WaveStarter,
    WorkerPool,
)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if REDIS_SERVER is None:
        if IN_CI:
            pytest.fail("redis-server is not installed; CI must provide it")
        pytest.skip("redis-server is not installed: these tests need a broker they can break")
    server = PrivateRedis(REDIS_SERVER, free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def switchable_smtp() -> Iterator[SwitchableSmtp]:
    relay = SwitchableSmtp()
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()


@pytest.fixture
def worker_pool(
    tmp_path: Path, sandbox: Sandbox, envol_context: EnvolContext
) -> Iterator[WorkerPool]:
    # Asks for the sandbox and the database the workers use (without using them), so that the
    # workers are stopped before those are torn down, whatever order a test names its fixtures
    # in: tables are never emptied under a running task.
    pool = WorkerPool(tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture
def beat_for() -> Iterator[Callable[..., Beat]]:
    """``beat_for(broker_url, **options)``: a ``Beat`` on that broker, closed afterwards."""
    beats: list[Beat] = []

    def make(broker_url: str, **options: Any) -> Beat:
        beats.append(Beat(broker_url, **options))
        return beats[-1]

    try:
        yield make
    finally:
        for beat in beats:
            beat.close()


@pytest.fixture
def start_wave(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    private_redis: PrivateRedis,
    worker_pool: WorkerPool,
    beat_for: Callable[..., Beat],
) -> WaveStarter:
    """``start_wave(relay, lease_seconds=…, deadline_seconds=…)``: a wave going out through
    ``envol worker`` processes on the private Redis."""
    return WaveStarter(sandbox, envol_context, worker_pool, beat_for, private_redis.url)
