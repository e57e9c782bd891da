"""Recording and looking up accepted Message-IDs (see ``plugin.mail.models``)."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin import clock
from plugin.mail.models import AcceptedMessage


class AcceptanceJournal:
    """Commits accepted Message-IDs one by one on a connection kept open for a whole run.

    One connection for the run, not one per message: on SQLite, opening and closing a
    connection per commit costs more than the commit (the last close checkpoints the WAL).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def record(self, message_id: str, purpose: str) -> None:
        """Commit ``message_id`` as accepted, in a transaction of its own (twice is harmless)."""
        if self._connection is None:
            self._connection = self._engine.connect()
        try:
            with self._connection.begin():
                self._connection.execute(
                    insert(AcceptedMessage).values(
                        message_id=message_id, purpose=purpose, accepted_at=clock.now()
                    )
                )
        except IntegrityError:
            pass  # already recorded by an earlier attempt: that is the point of the journal

    def close(self) -> None:
        if self._connection is not None:
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
