"""Recording and looking up accepted Message-IDs (see ``plugin.mail.models``)."""

from __future__ import annotations

import contextlib
import logging
import time
from types import TracebackType

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from plugin import clock
from plugin.mail.models import AcceptedMessage

log = logging.getLogger("envol.mail")

# How long ``record`` keeps trying through a lost database connection (well within a lease):
# the relay has accepted the message, and an acceptance that is not journalled means a copy.
RECORD_RETRY_SECONDS = 10.0


class AcceptanceJournal:
    """Commits accepted Message-IDs one by one on a connection kept open for a whole run.

    One connection for the run, not one per message: on SQLite, opening and closing a
    connection per commit costs more than the commit (the last close checkpoints the WAL).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def record(self, message_id: str, purpose: str) -> None:
        """Commit ``message_id`` as accepted, in a transaction of its own (twice is harmless).

        A lost database connection is retried on a fresh one for ``RECORD_RETRY_SECONDS``.
        """
        deadline = time.monotonic() + RECORD_RETRY_SECONDS
        delay = 0.2
        while True:
            try:
                self._insert(message_id, purpose)
                return
            except IntegrityError:
                return  # already recorded by an earlier attempt: that is the point of the journal
            except DBAPIError as error:
                self.close()  # this connection is gone; the next try opens a new one
                if not error.connection_invalidated or time.monotonic() + delay > deadline:
                    raise
                log.warning(
                    "the database connection was lost while journalling an accepted e-mail; "
                    "retrying in %.1f s",
                    delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _insert(self, message_id: str, purpose: str) -> None:
        if self._connection is None:
            self._connection = self._engine.connect()
        with self._connection.begin():
            self._connection.execute(
                insert(AcceptedMessage).values(
                    message_id=message_id, purpose=purpose, accepted_at=clock.now()
                )
            )

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):  # already broken: nothing left to release
                self._connection.close()
            self._connection = None

    def __enter__(self) -> AcceptanceJournal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def was_accepted(session: Session, message_id: str) -> bool:
    found = session.scalar(
        select(AcceptedMessage.message_id).where(AcceptedMessage.message_id == message_id)
    )
    return found is not None
