"""Rate limiting (Mattermost's GCRA from `throttled`) and fault injection, both deterministic."""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RateDecision:
    limited: bool
    limit: int
    remaining: int
    reset_after: float  # seconds
    retry_after: float  # seconds; meaningful only when limited

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            # Relative seconds, rounded up, like throttled's HTTPRateLimiter.
            "X-RateLimit-Reset": str(math.ceil(self.reset_after)),
        }
        if self.limited:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return headers


class GcraLimiter:
    """Generic cell rate algorithm as `throttled` implements it for Mattermost.

    ``per_sec`` requests per second on average, ``burst`` extra requests allowed at once; the
    advertised limit is ``burst + 1``. ``now`` is injectable so tests need no sleeping.
    """

    def __init__(self, per_sec: float, burst: int, now: object = time.monotonic) -> None:
        if per_sec <= 0 or burst < 0:
            raise ValueError("per_sec must be > 0 and burst >= 0")
        self.per_sec = per_sec
        self.burst = burst
        self.limit = burst + 1
        self.emission = 1.0 / per_sec
        self.tolerance = self.emission * self.limit
        self._now = now
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, key: str, quantity: int = 1) -> RateDecision:
        with self._lock:
            now = self._now()  # type: ignore[operator]
            tat = max(self._tat.get(key, now), now)
            increment = self.emission * quantity
            new_tat = tat + increment
            allow_at = new_tat - self.tolerance
            diff = now - allow_at
            if diff < 0:
                retry = -diff if increment <= self.tolerance else math.inf
                return RateDecision(True, self.limit, 0, tat - now, retry)
            self._tat[key] = new_tat
            ttl = new_tat - now
            spare = self.tolerance - ttl
            remaining = int(spare / self.emission) if spare > -self.emission else 0
            return RateDecision(False, self.limit, max(0, remaining), ttl, 0.0)


class TokenBucket:
    """A bucket of ``capacity`` tokens refilled evenly over ``period`` seconds (invite e-mails:
    20 per hour per sender). A request takes all its tokens or none."""

    def __init__(self, capacity: int, period: float) -> None:
        self.capacity = capacity
        self.period = period

    def take(
        self, level: tuple[float, float] | None, quantity: int, now: float
    ) -> tuple[bool, tuple[float, float]]:
        tokens, stamp = level if level is not None else (float(self.capacity), now)
        tokens = min(self.capacity, tokens + (now - stamp) * self.capacity / self.period)
        if quantity > tokens:
            return False, (tokens, now)
        return True, (tokens - quantity, now)


@dataclass(frozen=True)
class FaultPlan:
    """What to do to one request."""

    kind: str  # "none", "error", "drop", "timeout"
    latency: float = 0.0
    status: int = 0


@dataclass
class FaultInjector:
    """Draws one number per request from a seeded generator: same seed, same request order,
    same faults. ``apply_then_fail`` makes an injected 5xx happen *after* the write (a lost
    response); by default it happens before, so the write is not applied."""

    error_rate: float = 0.0
    drop_rate: float = 0.0
    timeout_rate: float = 0.0
    latency: float = 0.0
    timeout_seconds: float = 5.0
    error_statuses: tuple[int, ...] = (500, 503)
    apply_then_fail: bool = False
    seed: int = 0
    _random: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        total = self.error_rate + self.drop_rate + self.timeout_rate
        if min(self.error_rate, self.drop_rate, self.timeout_rate) < 0 or total > 1:
            raise ValueError("fault rates must be >= 0 and add up to at most 1")
        self._random = random.Random(self.seed)

    @property
    def active(self) -> bool:
        return bool(self.error_rate or self.drop_rate or self.timeout_rate or self.latency)

    def plan(self) -> FaultPlan:
        with self._lock:
            draw = self._random.random()
            pick = self._random.random()
        if draw < self.drop_rate:
            return FaultPlan("drop", self.latency)
        draw -= self.drop_rate
        if draw < self.timeout_rate:
            return FaultPlan("timeout", self.latency)
        draw -= self.timeout_rate
        if draw < self.error_rate:
            status = self.error_statuses[int(pick * len(self.error_statuses))]
            return FaultPlan("error", self.latency, status)
        return FaultPlan("none", self.latency)
