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


def test_shared_file_clock_sees_a_moment_another_writer_set_after_its_own(tmp_path: Path) -> None:
    # The writer answers from memory while the file is the one it wrote; another process's
    # write replaces the file, and from then on the file wins.
    path = str(tmp_path / "clock")
    mine, theirs = clock.SharedFileClock(path), clock.SharedFileClock(path)
    mine.set(dt.datetime(2027, 2, 1, 12, tzinfo=dt.UTC))
    assert mine() == dt.datetime(2027, 2, 1, 12, tzinfo=dt.UTC)
    theirs.set(dt.datetime(2027, 2, 1, 12, 0, 1, tzinfo=dt.UTC))
    assert mine() == dt.datetime(2027, 2, 1, 12, 0, 1, tzinfo=dt.UTC)
    assert mine.advance(dt.timedelta(days=1)) == dt.datetime(2027, 2, 2, 12, 0, 1, tzinfo=dt.UTC)
    assert theirs() == dt.datetime(2027, 2, 2, 12, 0, 1, tzinfo=dt.UTC)


def test_installing_the_same_shared_clock_again_keeps_the_one_moving_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo installs its clock, then builds contexts that install the clock named by the
    # environment: the process keeps the demo's instance, which answers from memory.
    path = str(tmp_path / "clock")
    mover = clock.SharedFileClock(path)
    mover.set(dt.datetime(2027, 2, 1, 12, tzinfo=dt.UTC))
    monkeypatch.setenv(clock.CLOCK_FILE_ENV, path)
    clock.set_source(mover)
    try:
        clock.install_from_environment()
        mover.advance(dt.timedelta(hours=1))
        assert clock.now() == dt.datetime(2027, 2, 1, 13, tzinfo=dt.UTC)
        assert clock._source is mover
        monkeypatch.setenv(clock.CLOCK_FILE_ENV, str(tmp_path / "other"))
        clock.install_from_environment()
        assert clock._source is not mover
    finally:
        clock.reset()


def test_the_sole_writer_answers_from_memory_and_readers_follow_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "clock")
    stage, reader = clock.SharedFileClock(path, sole_writer=True), clock.SharedFileClock(path)
    stage.set(dt.datetime(2027, 2, 1, 12, tzinfo=dt.UTC))
    Path(path).unlink()  # the file is not read again: not even its absence is noticed
    assert stage() == dt.datetime(2027, 2, 1, 12, tzinfo=dt.UTC)
    assert stage.advance(dt.timedelta(days=1)) == dt.datetime(2027, 2, 2, 12, tzinfo=dt.UTC)
    assert reader() == dt.datetime(2027, 2, 2, 12, tzinfo=dt.UTC)  # what the stage wrote
