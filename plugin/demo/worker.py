"""The demo's worker: ``envol worker --pool solo`` that also says how far it got.

The demo's simulated days pass in a fraction of a second while the worker runs the tasks the
webhooks enqueue (support tickets, their acknowledgements). Left to itself, the worker would
post a ticket sometimes before and sometimes after the next day's people had read the channel,
so two runs of the same launch would differ. The stage therefore waits, at chosen points,
until the worker has finished every task sent so far (``DemoStage.settle``): this module
counts, in a small file the stage reads, the tasks the worker finished and the ones it sent
itself (follow-up tasks, retries).

Run as ``python -m plugin.demo.worker`` with ``ENVOL_DEMO_WORKER_PROGRESS`` naming the file and
the usual ``ENVOL_*`` settings in the environment.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROGRESS_ENV = "ENVOL_DEMO_WORKER_PROGRESS"
# The worker's end of the doorbell (a file descriptor it inherits), when the stage gave one.
DOORBELL_ENV = "ENVOL_DEMO_WORKER_DOORBELL"
BROKER_POLLING_SECONDS = 0.05


class Doorbell:
    """One end of a datagram socket pair between the stage and its worker: each side rings
    the other when something changed (a task sent; a task finished), so neither waits out a
    polling interval. A ring is only a hint: both sides still read the broker or the progress
    file, and wait at most their polling interval when a ring is lost."""

    def __init__(self, end: socket.socket) -> None:
        end.setblocking(False)
        self._end = end

    def ring(self) -> None:
        # A full buffer already holds rings the other side has not read: one more adds nothing.
        with contextlib.suppress(OSError):
            self._end.send(b".")

    def wait(self, seconds: float) -> None:
        """Until the other side rings or ``seconds`` pass; the rings heard are forgotten."""
        ready, _, _ = select.select([self._end], [], [], seconds)
        while ready:
            try:
                self._end.recv(64)
            except OSError:
                return

    def close(self) -> None:
        self._end.close()


class WorkerProgress:
    """Tasks finished (whatever their outcome) and tasks sent, written on every change."""

    def __init__(self, path: Path, doorbell: Doorbell | None = None) -> None:
        self.path = path
        self.doorbell = doorbell
        self.finished = 0
        self.sent = 0
        self._lock = threading.Lock()
        self._write()

    def task_finished(self, **_: Any) -> None:
        with self._lock:
            self.finished += 1
            self._write()

    def task_sent(self, **_: Any) -> None:
        with self._lock:
            self.sent += 1
            self._write()

    def _write(self) -> None:
        # Replaced in one step: the stage never reads half a file.
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(f"{self.finished} {self.sent}\n", encoding="ascii")
        os.replace(partial, self.path)
        if self.doorbell is not None:
            self.doorbell.ring()


def read_progress(path: Path) -> tuple[int, int]:
    """(tasks finished, tasks the worker sent itself); (0, 0) before the worker wrote any."""
    try:
        finished, sent = path.read_text(encoding="ascii").split()
    except (FileNotFoundError, ValueError):
        return 0, 0
    return int(finished), int(sent)


def _stop_aware_sleep(doorbell: Doorbell) -> Callable[[float], None]:
    """kombu's sleep between empty polls: until the stage rings; and once a warm shutdown was
    asked for, a poll timeout, which ends the worker's wait for messages at once (Celery's loop
    otherwise polls on for up to 2 s before it looks at the shutdown flag)."""
    from celery.worker import state

    def sleep(seconds: float) -> None:
        doorbell.wait(seconds)
        if _asked(state.should_stop) or _asked(state.should_terminate):
            raise TimeoutError("the worker is shutting down")

    return sleep


def _asked(flag: object) -> bool:
    """Celery's test of its shutdown flags (``celery.worker.state.maybe_shutdown``): by identity.
    A warm shutdown sets ``should_stop`` to the exit code, 0, which equals False: a test by
    equality missed it, and the worker polled on until its 2-second drain ran out, twice."""
    return flag is not None and flag is not False


def _stop_with(parent: int) -> None:
    """Leave with the demo: a demo killed outright cannot stop its worker, which would
    otherwise poll an abandoned broker forever. SIGTERM is Celery's warm shutdown."""
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)


def main() -> None:
    from celery import signals

    threading.Thread(target=_stop_with, args=(os.getppid(),), daemon=True).start()
    bell_fd = os.environ.get(DOORBELL_ENV)
    doorbell = Doorbell(socket.socket(fileno=int(bell_fd))) if bell_fd else None
    progress = WorkerProgress(Path(os.environ[PROGRESS_ENV]), doorbell)
    # A task ends in task_postrun whether it succeeded, failed or asked for a retry; expired,
    # rejected and unknown messages end in their own signals and never run.
    for ended in (
        signals.task_postrun,
        signals.task_revoked,
        signals.task_rejected,
        signals.task_unknown,
    ):
        ended.connect(progress.task_finished, weak=False)
    signals.after_task_publish.connect(progress.task_sent, weak=False)

    from kombu.transport import sqlalchemy as sqla_transport

    from plugin.app import get_context
    from plugin.tasks import configure_celery

    # As ``envol worker --pool solo``, but the broker is polled often: the stage waits for this
    # worker after every support request, and the SQLite broker is polled once a second by
    # default. Set on the class because this transport hands every transport option, polling
    # interval included, to SQLAlchemy's create_engine, which refuses unknown ones.
    sqla_transport.Transport.polling_interval = BROKER_POLLING_SECONDS
    if doorbell is not None:
        # Between two empty polls kombu sleeps the polling interval; the stage rings when it
        # sends a task, so the worker looks at the broker at once.
        from kombu.transport.virtual import base as virtual_base

        virtual_base.sleep = _stop_aware_sleep(doorbell)  # type: ignore[assignment]
    app = configure_celery(get_context().settings.broker_url)
    app.worker_main(["worker", "--loglevel=INFO", "--concurrency=1", "--pool=solo"])


if __name__ == "__main__":
    main()
