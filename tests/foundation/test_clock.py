from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from plugin import clock


def test_frozen_clock_moves_only_when_told(frozen_clock: clock.FrozenClock) -> None:
    first = clock.now()
    assert clock.now() == first
    frozen_clock.advance(dt.timedelta(days=30))
    assert clock.now() - first == dt.timedelta(days=30)


def test_frozen_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError):
        clock.FrozenClock(dt.datetime(2027, 1, 1))


def test_shared_file_clock_is_seen_by_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clock"
    shared = clock.SharedFileClock(str(path))
    shared.set(dt.datetime(2027, 2, 1, 12, tzinfo=dt.UTC))
    shared.advance(dt.timedelta(days=45))
    monkeypatch.setenv(clock.CLOCK_FILE_ENV, str(path))
    seen = subprocess.run(
        [
            sys.executable,
            "-c",
            "from plugin import clock; clock.install_from_environment(); "
            "print(clock.now().isoformat())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert dt.datetime.fromisoformat(seen) == dt.datetime(2027, 3, 18, 12, tzinfo=dt.UTC)


def test_shared_file_clock_falls_back_to_real_time_without_a_file(tmp_path: Path) -> None:
    before = dt.datetime.now(dt.UTC)
    assert clock.SharedFileClock(str(tmp_path / "absent"))() >= before
