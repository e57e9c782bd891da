"""The one source of "now" for Envol.

Everything that schedules (reminders, campaign steps, gates) asks this module for the time, so
that the demo can run three months of a launch on an accelerated clock and tests can pin it.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable

_lock = threading.Lock()


def _system_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_source: Callable[[], dt.datetime] = _system_now


def now() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return _source()


def set_source(source: Callable[[], dt.datetime]) -> None:
    """Replace the clock (tests, the demo's accelerated time)."""
    global _source
    with _lock:
        _source = source


def reset() -> None:
    set_source(_system_now)


class FrozenClock:
    """A clock that only moves when told to; install it with ``set_source(clock)``."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start

    def __call__(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        self._now += delta
        return self._now

    def set(self, moment: dt.datetime) -> None:
        self._now = moment


class SharedFileClock:
    """A clock every process of a demo reads from one file, so that the CLI, the webhooks and the
    workers all live at the same simulated moment. The demo moves time by writing the file.

    The process that moves time answers from memory while the file is still the one it wrote
    (same inode and modification time): the demo asks for the time in every request the sandbox
    and the webhooks serve, and reading the file each time cost seconds per run. A file another
    process wrote since is a new inode (``os.replace``), so it is read again.

    ``sole_writer``: this instance is the only one that moves time (the demo's stage, which
    owns the file): it answers from memory without looking at the file at all (that look, an
    ``os.stat`` per call, cost about two seconds of a 1,500-person demo).
    """

    def __init__(self, path: str, *, sole_writer: bool = False) -> None:
        self._path = path
        self._sole_writer = sole_writer
        # (inode, mtime_ns) of the file this instance last wrote, and the moment it holds.
        self._written: tuple[tuple[int, int], dt.datetime] | None = None

    def __call__(self) -> dt.datetime:
        written = self._written
        if written is not None and (self._sole_writer or self._signature() == written[0]):
            return written[1]
        try:
            with open(self._path, encoding="utf-8") as handle:
                moment = dt.datetime.fromisoformat(handle.read().strip())
        except (OSError, ValueError):
            return _system_now()
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)

    @property
    def path(self) -> str:
        return self._path

    def _signature(self) -> tuple[int, int] | None:
        try:
            status = os.stat(self._path)
        except OSError:
            return None
        return status.st_ino, status.st_mtime_ns

    def set(self, moment: dt.datetime) -> None:
        moment = moment.astimezone(dt.UTC)
        # Write then rename: a reader never sees half a timestamp.
        temporary = f"{self._path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(moment.isoformat())
        os.replace(temporary, self._path)
        signature = self._signature()
        self._written = (signature, moment) if signature is not None else None

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        moment = self() + delta
        self.set(moment)
        return moment


CLOCK_FILE_ENV = "ENVOL_CLOCK_FILE"


def install_from_environment() -> None:
    """Use the shared simulated clock when ``ENVOL_CLOCK_FILE`` names one (the demo's processes)."""
    path = os.environ.get(CLOCK_FILE_ENV)
    if path:
        with _lock:
            current = _source
        if isinstance(current, SharedFileClock) and current.path == path:
            return  # the same file: keep the instance, which may be the one moving time
        set_source(SharedFileClock(path))
