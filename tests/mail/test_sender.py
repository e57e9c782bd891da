"""The mailer against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from plugin.mail.config import SmtpConfig
from plugin.mail.errors import MailSendError
from plugin.mail.message import Address, OutgoingEmail, deterministic_message_id
from plugin.mail.sender import SmtpMailer
from tests.helpers.smtp import RecordingHandler, SmtpServer, free_port


def _email(number: int, **overrides) -> OutgoingEmail:  # type: ignore[no-untyped-def]
    values = dict(
        sender=Address("lancement@exemple.fr", "Équipe de lancement"),
        recipient=Address(f"person{number}@exemple.fr", f"Personne {number}"),
        subject=f"Message n°{number} : déjà là ?",
        text=f"Bonjour {number}, ça arrive bientôt.",
        html=f"<p>Bonjour {number}, ça arrive bientôt.</p>",
        message_id=deterministic_message_id(f"test|{number}", "exemple.fr"),
    )
    values.update(overrides)
    return OutgoingEmail(**values)  # type: ignore[arg-type]


def test_one_connection_carries_many_messages(smtp_server: SmtpServer) -> None:
    with SmtpMailer(SmtpConfig.from_url(smtp_server.url)) as mailer:
        ids = [mailer.send(_email(n)) for n in range(5)]
    assert smtp_server.handler.connections == 1
    assert [m["Message-ID"] for m in smtp_server.messages] == ids
    assert smtp_server.messages[3]["Subject"] == "Message n°3 : déjà là ?"
    assert smtp_server.handler.envelopes[0] == ("lancement@exemple.fr", ["person0@exemple.fr"])


def test_connection_is_renewed_after_the_per_connection_cap(smtp_server: SmtpServer) -> None:
    with SmtpMailer(SmtpConfig.from_url(smtp_server.url + "?per_connection=2")) as mailer:
        for n in range(5):
            mailer.send(_email(n))
    assert smtp_server.handler.connections == 3
    assert len(smtp_server.messages) == 5


def test_without_reuse_each_message_opens_a_connection(smtp_server: SmtpServer) -> None:
    with SmtpMailer(SmtpConfig.from_url(smtp_server.url), reuse_connections=False) as mailer:
        for n in range(3):
            mailer.send(_email(n))
    assert smtp_server.handler.connections == 3


def test_pacing_waits_between_messages(smtp_server: SmtpServer) -> None:
    waits: list[float] = []
    now = [100.0]

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        now[0] += seconds

    mailer = SmtpMailer(
        SmtpConfig.from_url(smtp_server.url + "?rate=4"), sleep=sleep, monotonic=lambda: now[0]
    )
    with mailer:
        for n in range(3):
            mailer.send(_email(n))
    assert waits == [0.25, 0.25]


def test_a_4xx_reply_is_temporary_and_the_connection_stays_usable(smtp_server: SmtpServer) -> None:
    smtp_server.handler.refuse = True
    with SmtpMailer(SmtpConfig.from_url(smtp_server.url)) as mailer:
        with pytest.raises(MailSendError) as caught:
            mailer.send(_email(1))
        failure = caught.value.failure
        assert (failure.temporary, failure.code, failure.connection_level) == (True, 451, False)
        smtp_server.handler.refuse = False
        mailer.send(_email(2))
    assert smtp_server.handler.connections == 1
    assert [m["To"] for m in smtp_server.messages] == ["Personne 2 <person2@exemple.fr>"]


def test_a_5xx_recipient_refusal_is_permanent_and_others_still_go(smtp_server: SmtpServer) -> None:
    smtp_server.handler.reject_permanently.add("person1@exemple.fr")
    with SmtpMailer(SmtpConfig.from_url(smtp_server.url)) as mailer:
        with pytest.raises(MailSendError) as caught:
            mailer.send(_email(1))
        mailer.send(_email(2))
    failure = caught.value.failure
    assert (failure.permanent, failure.code, failure.connection_level) == (True, 550, False)
    assert "mailbox unavailable" in failure.reason
    assert len(smtp_server.messages) == 1


def test_connection_refused_is_temporary_and_connection_level() -> None:
    config = SmtpConfig.from_url(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    with SmtpMailer(config) as mailer, pytest.raises(MailSendError) as caught:
        mailer.send(_email(1))
    assert caught.value.failure.temporary and caught.value.failure.connection_level


def test_a_dead_idle_connection_is_replaced_before_the_next_send(smtp_server: SmtpServer) -> None:
    now = [0.0]
    mailer = SmtpMailer(SmtpConfig.from_url(smtp_server.url), monotonic=lambda: now[0])
    with mailer:
        mailer.send(_email(1))
        assert mailer._connection is not None
        mailer._connection.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]  # relay hung up
        now[0] += 60
        mailer.send(_email(2))
    assert mailer.connections_opened == 2 and len(smtp_server.messages) == 2


# --------------------------------------------------------------------------- TLS and login


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def _authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"envol",
        b"s3cr\xc3\xa9t",
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    server = SmtpServer.start(
        tls_context=_server_tls(certificate),
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
    )
    try:
        yield server
    finally:
        server.stop()


def test_starttls_then_login(starttls_server: SmtpServer) -> None:
    url = f"smtp://envol:s3cr%C3%A9t@127.0.0.1:{starttls_server.port}?starttls=1&verify=0"
    with SmtpMailer(SmtpConfig.from_url(url)) as mailer:
        mailer.send(_email(1))
        mailer.send(_email(2))
    # EHLO is said twice on one connection: before and after STARTTLS.
    assert len(starttls_server.messages) == 2 and mailer.connections_opened == 1
    assert starttls_server.handler.connections == 2


def test_a_refused_login_is_connection_level_not_a_recipient_failure(
    starttls_server: SmtpServer,
) -> None:
    url = f"smtp://envol:wrong@127.0.0.1:{starttls_server.port}?starttls=1&verify=0"
    with SmtpMailer(SmtpConfig.from_url(url)) as mailer, pytest.raises(MailSendError) as caught:
        mailer.send(_email(1))
    failure = caught.value.failure
    assert failure.connection_level and failure.temporary and "ENVOL_SMTP_URL" in failure.reason


def test_certificate_is_verified_unless_told_otherwise(starttls_server: SmtpServer) -> None:
    url = f"smtp://envol:x@127.0.0.1:{starttls_server.port}?starttls=1"
    with SmtpMailer(SmtpConfig.from_url(url)) as mailer, pytest.raises(MailSendError) as caught:
        mailer.send(_email(1))
    assert "TLS" in caught.value.failure.reason and caught.value.failure.connection_level


def test_implicit_tls_smtps(certificate: tuple[Path, Path]) -> None:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        ssl_context=_server_tls(certificate),
        ready_timeout=10,
    )
    controller.start()
    try:
        with SmtpMailer(SmtpConfig.from_url(f"smtps://127.0.0.1:{port}?verify=0")) as mailer:
            mailer.send(_email(7))
    finally:
        controller.stop()
    assert handler.messages[0]["Subject"] == "Message n°7 : déjà là ?"
