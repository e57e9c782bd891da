"""The mail pool: several connections, each acceptance journalled before its future resolves."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from plugin.app import EnvolContext
from plugin.delivery.journal import AcceptanceJournal, was_accepted
from plugin.delivery.mail_pool import JournalledMailPool, NotTried
from plugin.mail import Address, MailSendError, OutgoingEmail, SmtpConfig, SmtpMailer
from tests.helpers.smtp import SmtpServer, free_port


def _email(number: int) -> OutgoingEmail:
    return OutgoingEmail(
        sender=Address("envol@acme.test"),
        recipient=Address(f"person{number}@acme.test"),
        subject="Bienvenue",
        text="Bonjour",
        message_id=f"<{number}@acme.test>",
    )


class _CountingMailer(SmtpMailer):
    """Counts the connections open at once, across the pool's threads."""

    open_now = 0
    most_at_once = 0
    lock = threading.Lock()

    def send(self, outgoing: OutgoingEmail) -> str:
        with _CountingMailer.lock:
            _CountingMailer.open_now += 1
            _CountingMailer.most_at_once = max(_CountingMailer.most_at_once, self.open_now)
        try:
            return super().send(outgoing)
        finally:
            with _CountingMailer.lock:
                _CountingMailer.open_now -= 1


def _pool(
    context: EnvolContext, url: str, mailer: Callable[..., SmtpMailer] = SmtpMailer
) -> JournalledMailPool:
    return JournalledMailPool(
        context.engine, lambda: mailer(SmtpConfig.from_url(url)), purpose="campaign"
    )


def test_every_message_is_journalled_before_its_future_resolves(
    envol_context: EnvolContext, smtp_server: SmtpServer
) -> None:
    journalled_at_resolution: list[bool] = []
    pool = _pool(envol_context, f"{smtp_server.url}?connections=3", _CountingMailer)
    try:
        futures = [pool.submit(_email(n)) for n in range(60)]
        for future in futures:
            accepted = future.result(timeout=30)
            with envol_context.sessions() as session:
                journalled_at_resolution.append(was_accepted(session, accepted.message_id))
        connections = pool.connections
    finally:
        pool.close()
    assert all(journalled_at_resolution) and len(journalled_at_resolution) == 60
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 60
    assert 1 < connections <= 3 and _CountingMailer.most_at_once <= 3


def test_a_relay_that_is_down_is_tried_once_and_the_rest_not_tried(
    envol_context: EnvolContext,
) -> None:
    pool = _pool(envol_context, f"smtp://127.0.0.1:{free_port()}?timeout=2&connections=4")
    try:
        futures = [pool.submit(_email(n)) for n in range(5)]
        with pytest.raises(MailSendError) as first:
            futures[0].result(timeout=30)
        assert first.value.failure.connection_level
        for future in futures[1:]:
            with pytest.raises(NotTried):
                future.result(timeout=30)
        assert pool.connections == 1
    finally:
        pool.close()


def test_a_journal_that_cannot_be_written_stops_the_pool_after_one_acceptance(
    envol_context: EnvolContext, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one copy the at-least-once policy allows: accepted, not journalled, not widened."""

    class JournalDown(Exception):
        pass

    def down(*args: object, **kwargs: object) -> None:
        raise JournalDown

    monkeypatch.setattr(AcceptanceJournal, "record_many", down)
    pool = _pool(envol_context, f"{smtp_server.url}?connections=3")
    try:
        futures = [pool.submit(_email(n)) for n in range(10)]
        with pytest.raises(JournalDown):
            futures[0].result(timeout=30)
        for future in futures[1:]:
            with pytest.raises(NotTried):
                future.result(timeout=30)
        connections = pool.connections
    finally:
        pool.close()
    assert len(smtp_server.messages) == 1 and connections == 1


def test_the_relay_rate_is_shared_by_the_connections(
    envol_context: EnvolContext, smtp_server: SmtpServer
) -> None:
    rates: list[float] = []

    class Recording(SmtpMailer):
        def send(self, outgoing: OutgoingEmail) -> str:
            rates.append(self.config.rate_per_second)
            return super().send(outgoing)

    pool = _pool(envol_context, f"{smtp_server.url}?connections=2&rate=1000", Recording)
    try:
        for future in [pool.submit(_email(n)) for n in range(4)]:
            future.result(timeout=30)
    finally:
        pool.close()
    assert set(rates) == {500.0}


def test_a_mailer_that_cannot_be_made_fails_its_message_instead_of_hanging(
    envol_context: EnvolContext,
) -> None:
    def broken() -> SmtpMailer:
        raise RuntimeError("no relay configured")

    pool = JournalledMailPool(envol_context.engine, broken, purpose="campaign")
    try:
        futures = [pool.submit(_email(n)) for n in range(3)]
        with pytest.raises(RuntimeError, match="no relay configured"):
            futures[0].result(timeout=30)
        for future in futures[1:]:
            with pytest.raises(NotTried):
                future.result(timeout=30)
    finally:
        pool.close()
