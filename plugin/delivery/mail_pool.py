"""Several SMTP connections at once, every acceptance journalled before its connection moves on.

A relay answers each command of a message in turn (MAIL, RCPT, DATA, the data: four round trips
that smtplib cannot pipeline), so one connection spends most of its time waiting for the relay.
``JournalledMailPool`` sends on up to ``SmtpConfig.connections`` connections, one thread each,
while its caller renders the next messages.

The delivery guarantee stays the one of ``plugin.delivery.journal`` (at least once, one
Message-ID), with the same window per connection:

* **Group commit.** A sender thread whose message the relay answered 250 records the Message-ID
  and *waits for its commit* before it takes its next message. The first one to arrive commits
  its own and every other one that arrived meanwhile in one INSERT; the others wait for that
  commit or lead the next one: no timer, no batch size to wait for. Each connection therefore
  has at most one message accepted and not yet journalled, as a single connection has: a crash
  sends again at most ``connections`` messages, each with its first Message-ID, and each one's
  window is the time from the relay's 250 to the end of the next commit (one or two commits:
  well under a millisecond each on this machine's SQLite).
* **A future resolves after the commit**: the caller records an outcome only for messages
  already in the journal, as it did with ``JournalledMailer``.
* **Ramp-up.** The pool starts with one connection and opens another only once a message has
  been accepted and journalled (up to the limit, and only while messages wait): a relay that is
  down is tried once per run, not once per connection, and a journal that cannot be written
  stops the pool after its first acceptance.
* **Stop.** A connection-level failure (refused, timed out, 421) stops the pool: messages not yet
  begun end in ``NotTried`` (the caller gives them back untried); those already on the wire end
  normally. ``close`` does the same, then waits for the connections and the journal.

A relay's ``rate`` is shared: each connection is paced at ``rate / connections``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import Engine

from plugin import clock
from plugin.delivery.journal import AcceptanceJournal
from plugin.errors import EnvolError
from plugin.mail import MailSendError, OutgoingEmail, SmtpMailer


class NotTried(EnvolError):
    """The pool stopped (a connection-level failure, or closing) before this message was begun."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Accepted:
    message_id: str
    accepted_at: dt.datetime  # when the relay answered 250, not when the caller looked


class _GroupCommit:
    """The journal shared by the pool's connections, one database connection, group-committed.

    No writer thread of its own: the first sender with an acceptance to record commits it,
    together with every other one that arrived meanwhile, while the others wait for that commit
    (or lead the next one). With one connection, a message costs no thread switch at all.
    """

    def __init__(self, engine: Engine, purpose: str) -> None:
        # Used by one thread at a time (the leader); SQLAlchemy opens SQLite files shareable.
        self._journal = AcceptanceJournal(engine)
        self._purpose = purpose
        self._ready = threading.Condition()
        self._arrived: list[_Waiting] = []
        self._writing = False

    def record(self, message_id: str) -> None:
        """Return once ``message_id`` is committed; raise what the commit raised."""
        waiting = _Waiting(message_id)
        with self._ready:
            self._arrived.append(waiting)
            while not waiting.done:
                if self._writing:
                    self._ready.wait()
                else:
                    self._lead()
        if waiting.error is not None:
            raise waiting.error

    def _lead(self) -> None:
        """Commit everything that arrived (called and returning with ``_ready`` held)."""
        self._writing = True
        group, self._arrived = self._arrived, []
        error: BaseException | None = None
        self._ready.release()
        try:
            self._journal.record_many([w.message_id for w in group], self._purpose)
        except BaseException as failure:  # handed to every sender of the group
            error = failure
        finally:
            self._ready.acquire()
            self._writing = False
            for waiting in group:
                waiting.error = error
                waiting.done = True
            self._ready.notify_all()

    def close(self) -> None:
        with self._ready:
            self._journal.close()


@dataclass
class _Waiting:
    message_id: str
    done: bool = False
    error: BaseException | None = None


_Work = tuple[OutgoingEmail, "Future[Accepted]"]


class JournalledMailPool:
    """Sends on several connections; ``submit`` returns a future that resolves once the relay
    accepted the message and its Message-ID is committed to the journal."""

    def __init__(
        self, engine: Engine, open_mailer: Callable[[], SmtpMailer], *, purpose: str
    ) -> None:
        self._engine = engine
        self._open_mailer = open_mailer
        self._purpose = purpose
        self._work: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._senders: list[threading.Thread] = []
        self._limit = 1  # known once the first mailer (and its configuration) exists
        self._journal: _GroupCommit | None = None
        self.stop_reason: str | None = None

    @property
    def stopped(self) -> bool:
        return self.stop_reason is not None

    @property
    def connections(self) -> int:
        """Sender threads (and so connections) started so far."""
        return len(self._senders)

    def submit(self, outgoing: OutgoingEmail) -> Future[Accepted]:
        future: Future[Accepted] = Future()
        with self._lock:
            if self._journal is None:
                self._journal = _GroupCommit(self._engine, self._purpose)
            if not self._senders:
                self._start_sender()
        self._work.put((outgoing, future))
        return future

    def _start_sender(self) -> None:
        thread = threading.Thread(
            target=self._send_loop, name=f"envol-smtp-{len(self._senders) + 1}", daemon=True
        )
        self._senders.append(thread)
        thread.start()

    def _more_connections(self) -> None:
        """After an acceptance: the relay is up, open one more connection if work is waiting."""
        if len(self._senders) >= self._limit or self._work.empty() or self.stopped:
            return
        with self._lock:
            if len(self._senders) < self._limit and not self.stopped:  # ``close`` holds it too
                self._start_sender()

    def _new_mailer(self) -> SmtpMailer:
        mailer = self._open_mailer()
        config = mailer.config
        self._limit = max(1, config.connections)
        if config.rate_per_second > 0 and self._limit > 1:
            # The relay's rate is for the client, not per connection.
            mailer.config = dataclasses.replace(
                config, rate_per_second=config.rate_per_second / self._limit
            )
        return mailer

    def _stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason

    def _send_loop(self) -> None:
        mailer: SmtpMailer | None = None
        try:
            while (work := self._work.get()) is not None:
                outgoing, future = work
                if not future.set_running_or_notify_cancel():
                    continue
                if self.stop_reason is not None:
                    future.set_exception(NotTried(self.stop_reason))
                    continue
                if mailer is None:
                    try:
                        mailer = self._new_mailer()
                    except BaseException as error:  # re-raised by the caller's result()
                        self._stop(f"no mailer: {type(error).__name__}")
                        future.set_exception(error)
                        continue
                self._send_one(mailer, outgoing, future)
        finally:
            if mailer is not None:
                mailer.close()

    def _send_one(
        self, mailer: SmtpMailer, outgoing: OutgoingEmail, future: Future[Accepted]
    ) -> None:
        assert self._journal is not None
        try:
            message_id = mailer.send(outgoing)
            accepted_at = clock.now()
        except MailSendError as error:
            if error.failure.connection_level:
                self._stop(error.failure.reason)
            future.set_exception(error)
            return
        except BaseException as error:  # re-raised by the caller's result()
            self._stop(f"the sender failed: {type(error).__name__}")
            future.set_exception(error)
            return
        try:
            self._journal.record(message_id)
        except BaseException as error:  # re-raised by the caller's result()
            # Accepted but not journalled: the documented window; no further sends this run.
            self._stop("the journal of accepted e-mails could not be written")
            future.set_exception(error)
            return
        future.set_result(Accepted(message_id, accepted_at))
        # Only now, with the relay and the journal both proven, does the pool widen.
        self._more_connections()

    def close(self) -> None:
        """Stop taking messages, let those on the wire finish, close connections and journal."""
        with self._lock:  # no connection opens after this
            self._stop("the run ended before this message was sent")
            senders, self._senders = self._senders, []
        for _ in senders:
            self._work.put(None)
        for thread in senders:
            thread.join()
        if self._journal is not None:
            self._journal.close()
            self._journal = None
