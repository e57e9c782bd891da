"""The acceptance journal: what the relay accepted is recorded, whatever the connection does."""

from __future__ import annotations

import datetime as dt
from contextlib import closing

import pytest
from sqlalchemy import func, select, text

from plugin.app import EnvolContext
from plugin.clock import FrozenClock
from plugin.delivery.journal import AcceptanceJournal, JournalledMailer, was_accepted
from plugin.delivery.models import AcceptedMessage
from plugin.mail import Address, MailSendError, OutgoingEmail, SmtpConfig, SmtpMailer
from tests.helpers.smtp import SmtpServer


def test_recording_twice_is_harmless(envol_context: EnvolContext) -> None:
    with closing(AcceptanceJournal(envol_context.engine)) as journal:
        journal.record("<a@acme.test>", purpose="invitation")
        journal.record("<a@acme.test>", purpose="invitation")
    with envol_context.sessions() as session:
        assert was_accepted(session, "<a@acme.test>")
        assert not was_accepted(session, "<b@acme.test>")
        assert session.scalar(select(func.count()).select_from(AcceptedMessage)) == 1


def test_a_record_is_committed_at_once_and_leaves_no_transaction_open(
    envol_context: EnvolContext,
) -> None:
    with closing(AcceptanceJournal(envol_context.engine)) as journal:
        journal.record_many(["<a@acme.test>", "<b@acme.test>"], purpose="campaign")
        # Between records the journal's kept connection holds nothing: another writer goes
        # through at once (on SQLite a transaction left open would hold the write lock).
        with envol_context.sessions() as session, session.begin():
            session.add(AcceptedMessage(message_id="<c@acme.test>", purpose="other"))
        journal.record_many(["<b@acme.test>", "<d@acme.test>"], purpose="campaign")
        with envol_context.sessions() as session:
            found = set(session.scalars(select(AcceptedMessage.message_id)))
        assert found == {"<a@acme.test>", "<b@acme.test>", "<c@acme.test>", "<d@acme.test>"}


def test_a_record_stores_what_the_orm_stores(
    envol_context: EnvolContext, frozen_clock: FrozenClock
) -> None:
    # The journal's own INSERT (autocommitted, many at once) must store what the ORM stores,
    # byte for byte, or lookups and reports would read another format.
    moment = frozen_clock.advance(dt.timedelta(microseconds=123_456))
    with closing(AcceptanceJournal(envol_context.engine)) as journal:
        journal.record("<journal@acme.test>", purpose="campaign")
    with envol_context.sessions() as session, session.begin():
        session.add(
            AcceptedMessage(message_id="<orm@acme.test>", purpose="campaign", accepted_at=moment)
        )
    with envol_context.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT message_id, CAST(accepted_at AS VARCHAR) AS accepted_at "
                "FROM mail_accepted_message WHERE purpose = 'campaign'"
            )
        ).all()
    stored = {row.message_id: row.accepted_at for row in rows}
    assert stored["<journal@acme.test>"] == stored["<orm@acme.test>"]
    with envol_context.sessions() as session:
        recorded = session.get(AcceptedMessage, "<journal@acme.test>")
        assert recorded is not None and recorded.accepted_at == moment


def test_a_lost_connection_is_replaced_and_the_acceptance_still_recorded(
    envol_context: EnvolContext, caplog: pytest.LogCaptureFixture
) -> None:
    if envol_context.settings.database_url.startswith("sqlite"):
        pytest.skip("a SQLite file has no server connection to lose")
    with closing(AcceptanceJournal(envol_context.engine)) as journal:
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
    assert "lost the database connection while journalling" in caplog.text


def _email(to: str, message_id: str) -> OutgoingEmail:
    return OutgoingEmail(
        sender=Address("envol@acme.test"),
        recipient=Address(to),
        subject="Bienvenue",
        text="Bonjour",
        message_id=message_id,
    )


def test_the_mailer_journals_what_the_relay_accepted_and_only_that(
    envol_context: EnvolContext, smtp_server: SmtpServer
) -> None:
    smtp_server.handler.reject_permanently.add("gone@acme.test")
    mail = JournalledMailer(
        envol_context.engine, lambda: SmtpMailer(SmtpConfig.from_url(smtp_server.url))
    )
    try:
        accepted = mail.send(_email("lea@acme.test", "<1@acme.test>"), purpose="invitation")
        with pytest.raises(MailSendError):
            mail.send(_email("gone@acme.test", "<2@acme.test>"), purpose="invitation")
    finally:
        mail.close()
    assert accepted == "<1@acme.test>" and len(smtp_server.messages) == 1
    with envol_context.sessions() as session:
        assert was_accepted(session, "<1@acme.test>")
        assert not was_accepted(session, "<2@acme.test>")
