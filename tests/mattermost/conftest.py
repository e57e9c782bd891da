"""Fixtures for the adapter's own tests: recorded payloads served by ``responses``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from plugin.mattermost import MattermostClient
from plugin.mattermost.pacing import TokenBucket

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mattermost" / "api"
BASE = "http://127.0.0.1:8065"
API = BASE + "/api/v4"
TOKEN = "s3cr3t-t0k3n-never-logged-4x9q"


def payload(name: str) -> Any:
    """A recorded body from ``tests/fixtures/mattermost/api/<name>.json``."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


class FakeTime:
    """A monotonic clock that only moves when someone sleeps: retries cost no real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """Every registered response must be used; an unexpected request fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def mm(fake_time: FakeTime) -> Iterator[MattermostClient]:
    """A client on fake time with its own unlimited pacer and a 30 s retry budget."""
    pacer = TokenBucket(clock=fake_time.clock, sleep=fake_time.sleep)
    client = MattermostClient(
        BASE,
        TOKEN,
        timeout=7.5,
        retry_budget_seconds=30,
        pacer=pacer,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )
    yield client
    client.close()
