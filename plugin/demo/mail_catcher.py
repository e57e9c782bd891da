"""A real SMTP server on loopback that keeps every message it receives.

The demo delivers its e-mails here (nothing leaves the machine) and the tests read what was
sent from it. Its handler can also refuse messages, to rehearse a relay that is down.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import weakref
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

# A message's text, read once: the people's model looks for invite links in every e-mail and
# the ledger digests them all; parsing the MIME body twice cost seconds in a 1,500-person demo.
_TEXTS: weakref.WeakKeyDictionary[Message, str] = weakref.WeakKeyDictionary()
_TEXTS_LOCK = threading.Lock()


def body_text(message: Message) -> str:
    """The plain-text body (else the HTML one; else every text part), line ends as ``\n``."""
    with _TEXTS_LOCK:
        known = _TEXTS.get(message)
    if known is not None:
        return known
    text = _read_text(message).replace("\r\n", "\n")
    with _TEXTS_LOCK:
        _TEXTS[message] = text
    return text


def _read_text(message: Message) -> str:
    if isinstance(message, EmailMessage):
        body = message.get_body(preferencelist=("plain", "html"))
        if body is not None:
            return str(body.get_content())
    parts: list[str] = []
    for part in message.walk():
        payload = part.get_payload(decode=True) if part.get_content_maintype() == "text" else None
        if isinstance(payload, bytes):
            parts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(parts)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RecordingHandler:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    connections: int = 0
    refuse: bool = False  # answer 451 to every message (a temporary failure)
    reject_permanently: set[str] = field(default_factory=set)  # recipients answered 550
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() in self.reject_permanently:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        raw: Any = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
        return "250 Message accepted"


class MailCatcher:
    """``MailCatcher.start()`` → a running SMTP server; ``.url``, ``.messages``, ``.stop()``."""

    def __init__(self, handler: RecordingHandler, host: str, port: int, controller: Controller):
        self.handler, self.host, self.port = handler, host, port
        self._controller = controller

    @classmethod
    def start(cls, host: str = "127.0.0.1", port: int = 0, **options: Any) -> MailCatcher:
        """``options`` go to aiosmtpd's ``Controller`` (TLS, authentication)."""
        handler = RecordingHandler()
        port = port or free_port()
        controller = Controller(handler, hostname=host, port=port, ready_timeout=10, **options)
        controller.start()
        return cls(handler, host, port, controller)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    def stop(self) -> None:
        self._controller.stop()
