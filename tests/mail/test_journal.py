"""The acceptance journal: what the relay accepted is recorded, whatever the connection does."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from plugin.app import EnvolContext
from plugin.mail.journal import AcceptanceJournal, was_accepted
from plugin.mail.models import AcceptedMessage


def test_recording_twice_is_harmless(envol_context: EnvolContext) -> None:
    with AcceptanceJournal(envol_context.engine) as journal:
        journal.record("<a@acme.test>", purpose="invitation")
        journal.record("<a@acme.test>", purpose="invitation")
    with envol_context.sessions() as session:
        assert was_accepted(session, "<a@acme.test>")
        assert not was_accepted(session, "<b@acme.test>")
        assert session.scalar(select(func.count()).select_from(AcceptedMessage)) == 1


def test_a_lost_connection_is_replaced_and_the_acceptance_still_recorded(
    envol_context: EnvolContext, caplog: pytest.LogCaptureFixture
) -> None:
    if envol_context.settings.database_url.startswith("sqlite"):
        pytest.skip("a SQLite file has no server connection to lose")
    with AcceptanceJournal(envol_context.engine) as journal:
        journal.record("<first@acme.test>", purpose="invitation")  # opens the kept connection
        with envol_context.engine.connect() as admin:
            ended = admin.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
        assert ended, "the journal's connection was not there to end"
        journal.record("<second@acme.test>", purpose="invitation")
    with envol_context.sessions() as session:
        assert was_accepted(session, "<second@acme.test>")
    assert "connection was lost while journalling" in caplog.text
