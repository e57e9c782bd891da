"""The token bucket: rate, burst, holds, sharing across threads and clients, server defaults."""

from __future__ import annotations

import threading

import pytest
import responses

from plugin.mattermost import MattermostClient, TokenBucket, shared_pacer
from plugin.mattermost.pacing import forget_pacers
from tests.mattermost.conftest import API, BASE, TOKEN, FakeTime, payload


class LockedFakeTime(FakeTime):
    """Fake time that several threads may sleep on."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            super().sleep(seconds)


def test_burst_then_steady_rate(fake_time: FakeTime) -> None:
    bucket = TokenBucket(10, 5, clock=fake_time.clock, sleep=fake_time.sleep)
    start = fake_time.now
    for _ in range(5):
        bucket.acquire()
    assert fake_time.now == start  # the burst is free
    for _ in range(20):
        bucket.acquire()
    assert fake_time.now - start == pytest.approx(2.0, abs=1e-6)  # then 10 a second


def test_unlimited_never_waits(fake_time: FakeTime) -> None:
    bucket = TokenBucket(None, clock=fake_time.clock, sleep=fake_time.sleep)
    for _ in range(10_000):
        bucket.acquire()
    assert fake_time.sleeps == []


def test_hold_pauses_every_caller(fake_time: FakeTime) -> None:
    bucket = TokenBucket(None, clock=fake_time.clock, sleep=fake_time.sleep)
    bucket.hold(4)
    assert bucket.acquire() == pytest.approx(4)
    assert bucket.acquire() == 0


def test_threads_share_one_allowance() -> None:
    fake = LockedFakeTime()
    bucket = TokenBucket(5, 1, clock=fake.clock, sleep=fake.sleep)
    start = fake.now

    def take() -> None:
        for _ in range(10):
            bucket.acquire()

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 40 tokens at 5/s, one free: at least 39/5 s of (fake) waiting, whatever the interleaving.
    assert fake.now - start >= 39 / 5 - 1e-6


def test_one_pacer_per_server_for_the_whole_process() -> None:
    forget_pacers()
    try:
        a = MattermostClient(BASE, TOKEN, max_rate_per_sec=8, burst=4)
        b = MattermostClient(BASE + "/", "another-token")
        other = MattermostClient("http://127.0.0.1:9065", TOKEN)
        assert a.pacer is b.pacer is shared_pacer(BASE)
        assert b.pacer.rate == 8 and b.pacer.burst == 4
        assert other.pacer is not a.pacer and other.pacer.rate is None
    finally:
        forget_pacers()


def test_every_request_takes_a_token(
    rsps: responses.RequestsMock, mm: MattermostClient, fake_time: FakeTime
) -> None:
    mm.pacer.configure(2, 1)
    for _ in range(5):
        rsps.get(f"{API}/system/ping", json=payload("ping"))
    start = fake_time.now
    for _ in range(5):
        mm.ping()
    assert fake_time.now - start == pytest.approx(2.0)  # 1 free, then 4 at 2 a second


def test_pacing_defaults_a_little_under_the_servers_limit(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    rsps.get(f"{API}/config", json=payload("config"))  # RateLimitSettings: on, 10/s, burst 100
    assert mm.configure_pacing_from_server() == pytest.approx(9.0)
    assert mm.pacer.rate == pytest.approx(9.0) and mm.pacer.burst == 90


def test_pacing_is_unlimited_when_the_server_does_not_limit(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    config = payload("config")
    config["RateLimitSettings"]["Enable"] = False
    rsps.get(f"{API}/config", json=config)
    mm.pacer.configure(3)
    assert mm.configure_pacing_from_server() is None
    assert mm.pacer.rate is None


def test_pacing_is_left_alone_when_the_token_cannot_read_the_config(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    rsps.get(f"{API}/config", status=403, json=payload("error_permissions"))
    mm.pacer.configure(3)
    assert mm.configure_pacing_from_server() is None
    assert mm.pacer.rate == 3
