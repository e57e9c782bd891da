"""The journal of accepted e-mails: recording and looking up Message-IDs a relay answered 250 to.

Every e-mail Envol sends has a Message-ID derived from its idempotency key
(``plugin.mail.deterministic_message_id``), so a second attempt carries the same one. The moment
the relay accepts a message, ``JournalledMailer.send`` commits its Message-ID here, in a
transaction of its own, before the caller records anything: a sender that finds an attempt
interrupted (a crash, a lease that ran out mid-send) asks ``was_accepted`` before sending again.
The rows are ``plugin.delivery.models.AcceptedMessage``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from plugin import clock
from plugin.delivery.backoff import Backoff
from plugin.delivery.models import AcceptedMessage
from plugin.mail import OutgoingEmail, SmtpMailer

log = logging.getLogger("envol.mail")

# How long ``record`` keeps trying through a lost database connection (well within a lease):
# the relay has accepted the message, and an acceptance that is not journalled means a copy.
RECORD_RETRY_SECONDS = 10.0
RECONNECT_BACKOFF = Backoff(first=dt.timedelta(seconds=0.2), ceiling=dt.timedelta(seconds=2))

_INSERT = insert(AcceptedMessage)


class AcceptanceJournal:
    """Commits accepted Message-IDs one by one on a connection kept open for a whole run.

    One connection for the run, not one per message: on SQLite, opening and closing a
    connection per commit costs more than the commit (the last close checkpoints the WAL).
    The connection autocommits: a record is one call into the database (the INSERT) where
    BEGIN, INSERT and COMMIT made three, each one a wait for the interpreter lock again while
    the sender's SMTP connection waits for the journal.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def record(self, message_id: str, purpose: str) -> None:
        """Commit ``message_id`` as accepted, in a transaction of its own (twice is harmless).

        A lost database connection is retried on a fresh one for ``RECORD_RETRY_SECONDS``.
        """
        self.record_many([message_id], purpose)

    def record_many(self, message_ids: Sequence[str], purpose: str) -> None:
        """Commit ``message_ids`` as accepted (one call to the database, each row committed).

        Ids recorded before (an earlier attempt's) are harmless: the batch is then written row
        by row, each duplicate skipped. A lost database connection is retried on a fresh one for
        ``RECORD_RETRY_SECONDS``.
        """
        if not message_ids:
            return
        deadline = time.monotonic() + RECORD_RETRY_SECONDS
        failures = 0
        while True:
            try:
                self._insert(message_ids, purpose)
                return
            except IntegrityError:
                if len(message_ids) == 1:
                    return  # already recorded by an earlier attempt: the point of the journal
                for message_id in message_ids:
                    self.record_many([message_id], purpose)
                return
            except DBAPIError as error:
                self.close()  # this connection is gone; the next try opens a new one
                failures += 1
                delay = RECONNECT_BACKOFF.after(failures).total_seconds()
                if not error.connection_invalidated or time.monotonic() + delay > deadline:
                    raise
                # Worded as ``database_outage_logged``'s line: one phrase to look for in a log.
                log.warning(
                    "lost the database connection while journalling an accepted e-mail (%s); "
                    "retrying in %.1f s on a new connection",
                    str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__,
                    delay,
                )
                time.sleep(delay)

    def _insert(self, message_ids: Sequence[str], purpose: str) -> None:
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
        accepted_at = clock.now()
        # Each row is committed when its INSERT ends, all of them by the time ``execute``
        # returns: a group's acceptances need no transaction together (each is true on its
        # own; one recorded before a failure stays recorded, and recording it again is
        # harmless). One statement with bound parameters: compiled once, not once per message.
        self._connection.execute(
            _INSERT,
            [
                {"message_id": message_id, "purpose": purpose, "accepted_at": accepted_at}
                for message_id in message_ids
            ],
        )
        self._connection.commit()  # ends SQLAlchemy's own transaction; nothing left to commit

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):  # already broken: nothing left to release
                self._connection.close()
            self._connection = None


def was_accepted(session: Session, message_id: str) -> bool:
    found = session.scalar(
        select(AcceptedMessage.message_id).where(AcceptedMessage.message_id == message_id)
    )
    return found is not None


class JournalledMailer:
    """The SMTP connection and the acceptance journal of one run, opened when first used and
    closed together. ``send`` journals what the relay accepted before returning."""

    def __init__(self, engine: Engine, open_mailer: Callable[[], SmtpMailer]) -> None:
        self._engine = engine
        self._open_mailer = open_mailer
        self._mailer: SmtpMailer | None = None
        self._journal: AcceptanceJournal | None = None

    def send(self, outgoing: OutgoingEmail, *, purpose: str) -> str:
        """Send one message and journal its Message-ID (returned) once the relay accepted it.

        ``MailSendError`` when the relay did not accept it; nothing is journalled then.
        """
        if self._mailer is None:
            self._mailer = self._open_mailer()
        message_id = self._mailer.send(outgoing)
        # Committed at once: a worker killed before its caller records the outcome leaves the
        # attempt unfinished, and the next attempt finds the acceptance here.
        if self._journal is None:
            self._journal = AcceptanceJournal(self._engine)
        self._journal.record(message_id, purpose)
        return message_id

    def close(self) -> None:
        if self._mailer is not None:
            self._mailer.close()
            self._mailer = None
        if self._journal is not None:
            self._journal.close()
            self._journal = None
