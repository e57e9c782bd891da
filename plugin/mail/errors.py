"""What went wrong with a send, and whether trying again later can help.

* ``temporary``: a 4xx reply, a refused or dropped connection, a timeout. Retry with backoff.
* permanent: a 5xx reply about this message or recipient (unknown mailbox, rejected content).
  Record it for the recipient; never retry.
* ``connection_level``: the problem is the relay or our configuration, not this recipient
  (connection refused, authentication refused, STARTTLS unavailable). The caller should stop
  the current batch and try everything again later instead of failing recipients one by one.
  A refused login is a 5xx reply, but it says nothing about the recipient: it is reported as
  connection-level and temporary so that fixing ``ENVOL_SMTP_URL`` resumes the sends.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass

from plugin.errors import EnvolError


@dataclass(frozen=True)
class MailFailure:
    temporary: bool
    code: int | None
    reason: str
    connection_level: bool = False

    @property
    def permanent(self) -> bool:
        return not self.temporary

    def describe(self) -> str:
        kind = "temporary" if self.temporary else "permanent"
        code = f" {self.code}" if self.code else ""
        return f"{kind}{code}: {self.reason}"


class MailSendError(EnvolError):
    """A send failed; ``failure`` tells whether to retry."""

    def __init__(self, failure: MailFailure) -> None:
        super().__init__(f"e-mail not sent ({failure.describe()})")
        self.failure = failure


def _reply_text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    # Keep the reply short and free of addresses echoed back by some servers.
    return " ".join(text.split())[:200]


def _by_code(code: int, reply: bytes | str, *, connection_level: bool = False) -> MailFailure:
    return MailFailure(
        temporary=400 <= code < 500 or code < 400,
        code=code,
        reason=_reply_text(reply),
        connection_level=connection_level,
    )


def classify_smtp_error(error: BaseException) -> MailFailure:
    """Map an exception raised while talking SMTP to a ``MailFailure``."""
    if isinstance(error, MailSendError):
        return error.failure
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        # One recipient per message in Envol: the first refusal is the one that matters.
        replies = list(error.recipients.values())
        if replies:
            code, reply = replies[0]
            return _by_code(code, reply)
        return MailFailure(temporary=True, code=None, reason="recipient refused")
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return MailFailure(
            temporary=True,
            code=error.smtp_code,
            reason="the SMTP server refused the login: check the user and password in "
            "ENVOL_SMTP_URL",
            connection_level=True,
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return MailFailure(
            temporary=True,
            code=None,
            reason=f"the SMTP server does not support this: {error}. Check ENVOL_SMTP_URL "
            "(starttls, smtps)",
            connection_level=True,
        )
    if isinstance(error, smtplib.SMTPConnectError):
        # Whatever the greeting's code, the relay is the problem, not the recipient.
        return MailFailure(True, error.smtp_code, _reply_text(error.smtp_error), True)
    if isinstance(error, smtplib.SMTPSenderRefused):
        # The envelope sender is ours: a refusal is about our configuration, not the recipient.
        failure = _by_code(error.smtp_code, error.smtp_error)
        return MailFailure(failure.temporary, failure.code, failure.reason, connection_level=True)
    if isinstance(error, smtplib.SMTPResponseException):
        return _by_code(error.smtp_code, error.smtp_error)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return MailFailure(True, None, "the SMTP server closed the connection", True)
    if isinstance(error, ssl.SSLError):
        return MailFailure(True, None, f"TLS failed: {error.reason or error}", True)
    if isinstance(error, ConnectionRefusedError):
        return MailFailure(True, None, "connection refused by the SMTP server", True)
    if isinstance(error, socket.timeout | TimeoutError):
        return MailFailure(True, None, "the SMTP server did not answer in time", True)
    if isinstance(error, socket.gaierror):
        return MailFailure(True, None, "the SMTP host name does not resolve", True)
    if isinstance(error, OSError | smtplib.SMTPException):
        return MailFailure(True, None, f"{type(error).__name__}: {error}", True)
    raise error
