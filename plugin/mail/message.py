"""Building a proper e-mail: multipart text + HTML, UTF-8 headers, the headers receivers expect.

Every message has ``Message-ID`` and ``Date``; ``Reply-To`` when someone other than the sender
should get the answers (a manager writing through Envol); ``List-Unsubscribe`` (RFC 2369, and
RFC 8058 one-click when an https link is given) on messages that are not mandatory, because
mailbox providers file bulk mail without it as spam and people deserve the choice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from plugin import clock


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[-1] if "@" in self.email else "localhost"

    def header(self) -> HeaderAddress:
        # headerregistry encodes non-ASCII display names (RFC 2047) and quotes as needed.
        return HeaderAddress(display_name=self.name, addr_spec=self.email)

    @classmethod
    def parse(cls, value: str) -> Address:
        """``"Name <a@b>"`` or ``a@b``, e.g. the ``ENVOL_MAIL_FROM`` setting."""
        from email.utils import parseaddr

        name, email = parseaddr(value)
        if "@" not in email:
            raise ValueError(f"not an e-mail address: {value!r}")
        return cls(email=email, name=name)


@dataclass(frozen=True)
class OutgoingEmail:
    sender: Address
    recipient: Address
    subject: str
    text: str
    html: str | None = None
    message_id: str | None = None
    reply_to: Address | None = None
    mandatory: bool = True
    unsubscribe_mailto: str | None = None
    unsubscribe_url: str | None = None
    language: str | None = None
    envelope_sender: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    date: dt.datetime | None = None

    @property
    def bounce_address(self) -> str:
        return self.envelope_sender or self.sender.email


def deterministic_message_id(idempotency_key: str, domain: str) -> str:
    """The same key always gives the same Message-ID.

    A resend after a crash then carries the Message-ID of the first attempt, so the sender can
    tell whether it was accepted and mail clients that collapse duplicates show it once.
    """
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<envol.{digest}@{domain}>"


def build_email(outgoing: OutgoingEmail) -> EmailMessage:
    """The MIME message: ``text/plain`` alone, or ``multipart/alternative`` with HTML."""
    if not outgoing.mandatory and not (outgoing.unsubscribe_mailto or outgoing.unsubscribe_url):
        raise ValueError("a message that is not mandatory needs an unsubscribe address or link")
    message = EmailMessage(policy=SMTP)
    message["From"] = outgoing.sender.header()
    message["To"] = outgoing.recipient.header()
    message["Subject"] = outgoing.subject
    message["Date"] = format_datetime(outgoing.date or clock.now())
    message["Message-ID"] = outgoing.message_id or make_msgid(domain=outgoing.sender.domain)
    if outgoing.reply_to is not None:
        message["Reply-To"] = outgoing.reply_to.header()
    if not outgoing.mandatory:
        links = []
        if outgoing.unsubscribe_url:
            links.append(f"<{outgoing.unsubscribe_url}>")
        if outgoing.unsubscribe_mailto:
            links.append(f"<mailto:{outgoing.unsubscribe_mailto}>")
        message["List-Unsubscribe"] = ", ".join(links)
        if outgoing.unsubscribe_url and outgoing.unsubscribe_url.startswith("https://"):
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in outgoing.extra_headers:
        message[name] = value
    message.set_content(outgoing.text, charset="utf-8")
    if outgoing.html is not None:
        message.add_alternative(outgoing.html, subtype="html", charset="utf-8")
    if outgoing.language:
        # After the body: set_content() clears every Content-* header it finds.
        message["Content-Language"] = outgoing.language
    return message
