"""One backoff rule: doubling from the first wait, capped, optionally spread."""

from __future__ import annotations

import datetime as dt

from plugin.campaigns.dispatcher import RETRY
from plugin.delivery.backoff import Backoff
from plugin.invitations.dispatcher import BACKOFF


def test_the_wait_doubles_from_the_first_and_stops_at_the_ceiling() -> None:
    waits = [BACKOFF.after(n).total_seconds() for n in range(0, 10)]
    assert waits == [15, 15, 30, 60, 120, 240, 480, 960, 1800, 1800]


def test_jitter_spreads_each_wait_around_its_value() -> None:
    waits = [RETRY.after(3) for _ in range(200)]
    assert all(dt.timedelta(minutes=3.2) <= w <= dt.timedelta(minutes=4.8) for w in waits)
    assert len(set(waits)) > 1
    assert all(RETRY.after(30) <= dt.timedelta(hours=6 * 1.2) for _ in range(50))


def test_without_jitter_the_wait_is_exact() -> None:
    rule = Backoff(first=dt.timedelta(seconds=0.2), ceiling=dt.timedelta(seconds=2))
    assert [rule.after(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [0.2, 0.4, 0.8, 1.6, 2.0]
