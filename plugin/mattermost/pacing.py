"""A token bucket per Mattermost server, shared by every thread (and client) of the process.

Mattermost's limiter (GCRA, ``RateLimitSettings``: 10 req/s, burst 100 by default, when
enabled) is keyed by client IP unless ``VaryByUser`` is set, so all of a process's requests
count against one allowance: hence one bucket per server URL, not per client object. Several
worker processes on one host share the server-side allowance too; give each a share of it
with ``max_rate_per_sec``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; ``rate=None`` means unlimited."""

    def __init__(
        self,
        rate: float | None = None,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._rate: float | None = None
        self._burst = 1.0
        self._tokens = 0.0
        self._stamp = clock()
        self._hold_until = 0.0
        self.configure(rate, burst)

    @property
    def rate(self) -> float | None:
        return self._rate

    @property
    def burst(self) -> int:
        return int(self._burst)

    def configure(self, rate: float | None, burst: int | None = None) -> None:
        """Change the rate (``None``: unlimited); ``burst`` defaults to one second's worth."""
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for unlimited)")
        with self._lock:
            was_unlimited = self._rate is None
            self._rate = rate
            self._burst = float(max(1, burst if burst is not None else int(rate or 1)))
            # A new limit starts with a full burst; a changed one keeps what is left.
            self._tokens = self._burst if was_unlimited else min(self._tokens, self._burst)
            self._stamp = self._clock()

    def hold(self, seconds: float) -> None:
        """Make every caller wait ``seconds`` from now (the server said ``Retry-After``)."""
        with self._lock:
            self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))

    def acquire(self) -> float:
        """Take one token, sleeping as needed; returns the time waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                delay = self._hold_until - now
                if delay <= 0:
                    if self._rate is None:
                        return waited
                    self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
                    self._stamp = now
                    # Tolerance: float refills can land a hair under 1 and would spin forever.
                    if self._tokens >= 1 - 1e-9:
                        self._tokens = max(0.0, self._tokens - 1)
                        return waited
                    delay = (1 - self._tokens) / self._rate
            self._sleep(delay)
            waited += delay


_registry_lock = threading.Lock()
_registry: dict[str, TokenBucket] = {}


def shared_pacer(url: str) -> TokenBucket:
    """The process-wide bucket of the server at ``url`` (created unlimited)."""
    key = url.rstrip("/").lower()
    with _registry_lock:
        bucket = _registry.get(key)
        if bucket is None:
            bucket = _registry[key] = TokenBucket()
        return bucket


def forget_pacers() -> None:
    """Drop every shared bucket (tests, and a process that changes servers)."""
    with _registry_lock:
        _registry.clear()
