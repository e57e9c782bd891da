"""``SmtpMailer``: one reused, paced SMTP connection, with every failure classified.

Opening an SMTP connection costs a TCP handshake, the greeting, EHLO, often STARTTLS and a
login: several round trips per message if done every time (``bench/bench_smtp.py`` measures
it). The mailer keeps one connection open, renews it after ``messages_per_connection`` messages
(relays cap them), checks with NOOP that an idle connection is still alive before reusing it,
and paces sends to ``rate_per_second`` so a relay's limits are not hit.

A failure in the middle of a message leaves the connection in an unknown state: it is dropped
and the next send opens a fresh one. The mailer itself never retries a message: whether to
retry is the caller's decision, taken from the ``MailFailure`` (and recorded in its database).
"""

from __future__ import annotations

import base64
import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import replace
from email.utils import make_msgid
from types import TracebackType

from plugin.mail.config import SmtpConfig
from plugin.mail.errors import MailSendError, classify_smtp_error
from plugin.mail.message import OutgoingEmail, email_bytes

log = logging.getLogger(__name__)

# An idle connection older than this is probed with NOOP before reuse: relays close idle
# sessions (often after 30-300 s) and a send on a dead socket would look like a failure.
_PROBE_AFTER_IDLE_SECONDS = 5.0


class SmtpMailer:
    """Send ``OutgoingEmail`` messages; use as a context manager to close the connection."""

    def __init__(
        self,
        config: SmtpConfig,
        *,
        reuse_connections: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.reuse_connections = reuse_connections
        self._sleep = sleep
        self._monotonic = monotonic
        self._connection: smtplib.SMTP | None = None
        self._sent_on_connection = 0
        self._last_used = 0.0
        self._next_send_at = 0.0
        self.connections_opened = 0
        self.messages_sent = 0

    # ------------------------------------------------------------------ connection

    def _open(self) -> smtplib.SMTP:
        config = self.config
        connection: smtplib.SMTP
        if config.implicit_tls:
            connection = smtplib.SMTP_SSL(
                config.host,
                config.port,
                local_hostname=config.helo_name,
                timeout=config.timeout,
                context=config.tls_context(),
            )
        else:
            connection = smtplib.SMTP(
                config.host, config.port, local_hostname=config.helo_name, timeout=config.timeout
            )
        try:
            connection.ehlo()
            if config.starttls:
                if not connection.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError("STARTTLS is not offered by the server")
                connection.starttls(context=config.tls_context())
                connection.ehlo()
            if config.username:
                if not config.encrypted:
                    log.warning("SMTP login over an unencrypted connection to %s", config.host)
                self._login(connection, config.username, config.password or "")
        except BaseException:
            self._quietly_close(connection)
            raise
        self.connections_opened += 1
        self._sent_on_connection = 0
        return connection

    @staticmethod
    def _login(connection: smtplib.SMTP, username: str, password: str) -> None:
        if (username + password).isascii():
            connection.login(username, password)
            return
        # smtplib encodes credentials as ASCII; RFC 4616 PLAIN carries UTF-8, so accented
        # passwords (common in French companies' directories) are sent by hand.
        if "PLAIN" not in connection.esmtp_features.get("auth", "").upper().split():
            raise smtplib.SMTPAuthenticationError(
                535, b"non-ASCII credentials need AUTH PLAIN, which the server does not offer"
            )
        token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
        code, reply = connection.docmd("AUTH", f"PLAIN {token}")
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, reply)

    @staticmethod
    def _quietly_close(connection: smtplib.SMTP) -> None:
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()

    def _connection_for_next_message(self) -> smtplib.SMTP:
        connection = self._connection
        if connection is not None and (
            not self.reuse_connections
            or self._sent_on_connection >= self.config.messages_per_connection
        ):
            self.close()
            connection = None
        if (
            connection is not None
            and self._monotonic() - self._last_used > _PROBE_AFTER_IDLE_SECONDS
        ):
            try:
                code, _ = connection.noop()
                alive = code == 250
            except (smtplib.SMTPException, OSError):
                alive = False
            if not alive:
                connection.close()
                self._connection = connection = None
        if connection is None:
            connection = self._connection = self._open()
        return connection

    def close(self) -> None:
        if self._connection is not None:
            self._quietly_close(self._connection)
            self._connection = None

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ sending

    def _pace(self) -> None:
        if self.config.rate_per_second <= 0:
            return
        wait = self._next_send_at - self._monotonic()
        if wait > 0:
            self._sleep(wait)
        self._next_send_at = max(self._next_send_at, self._monotonic()) + (
            1.0 / self.config.rate_per_second
        )

    def send(self, outgoing: OutgoingEmail) -> str:
        """Send one message; returns its Message-ID once the server has accepted it.

        Raises ``MailSendError`` whose ``failure`` says whether a retry can help.
        """
        if outgoing.message_id is None:
            outgoing = replace(outgoing, message_id=make_msgid(domain=outgoing.sender.domain))
        message_id = outgoing.message_id
        assert message_id is not None
        payload = email_bytes(outgoing)  # bytes: sendmail() only dot-stuffs them
        self._pace()
        try:
            connection = self._connection_for_next_message()
        except (smtplib.SMTPException, OSError) as error:
            self._connection = None
            raise MailSendError(classify_smtp_error(error)) from error
        try:
            refused = connection.sendmail(
                outgoing.bounce_address, [outgoing.recipient.email], payload
            )
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
            # The server answered cleanly: the session is still usable after RSET.
            self._reset_or_drop(connection)
            raise MailSendError(classify_smtp_error(error)) from error
        except (smtplib.SMTPException, OSError) as error:
            connection.close()
            self._connection = None
            raise MailSendError(classify_smtp_error(error)) from error
        finally:
            self._last_used = self._monotonic()
        if refused:  # pragma: no cover - one recipient per message: refusal raises instead
            raise MailSendError(classify_smtp_error(smtplib.SMTPRecipientsRefused(refused)))
        self._sent_on_connection += 1
        self.messages_sent += 1
        if not self.reuse_connections:
            self.close()
        return message_id

    def _reset_or_drop(self, connection: smtplib.SMTP) -> None:
        try:
            connection.rset()
        except (smtplib.SMTPException, OSError):
            connection.close()
            self._connection = None
