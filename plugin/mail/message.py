"""Building a proper e-mail: multipart text + HTML, UTF-8 headers, the headers receivers expect.

Every message has ``Message-ID`` and ``Date``; ``Reply-To`` when someone other than the sender
should get the answers (a manager writing through Envol); ``List-Unsubscribe`` (RFC 2369, and
RFC 8058 one-click when an https link is given) on messages that are not mandatory, because
mailbox providers file bulk mail without it as spam and people deserve the choice.
"""

from __future__ import annotations

import binascii
import datetime as dt
import email
import functools
import hashlib
import random
import secrets
from dataclasses import dataclass, field
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

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
    """The MIME message: ``text/plain`` alone, or ``multipart/alternative`` with HTML.

    Parsed back from ``email_bytes``, the form that is sent: what tests and callers inspect is
    exactly what goes on the wire.
    """
    return email.message_from_bytes(email_bytes(outgoing), policy=SMTP)


# The standard library's header folding (``email.policy``) costs about a millisecond a header:
# more than the SMTP round trips of a message. A campaign step repeats the same sender, subject
# and unsubscribe headers for every recipient of a language, so those are folded once and kept.
@functools.lru_cache(maxsize=512)
def _folded(name: str, value: str | Address) -> bytes:
    parsed = value.header() if isinstance(value, Address) else value
    # header_store_parse refuses a value with a line break (header injection).
    return SMTP.fold_binary(*SMTP.header_store_parse(name, parsed))


def _address_line(name: str, address: Address) -> bytes:
    """``To: …`` for one recipient: the cheap form when it fits a line, the folded one if not."""
    if not _plain_addr_spec(address.email) or "\n" in address.name or "\r" in address.name:
        return _folded(name, address)  # let the standard library judge (and refuse) it
    value = formataddr((address.name, address.email), charset="utf-8")
    line = f"{name}: {value}"
    if len(line) <= 76 and "\n" not in value:
        return line.encode("ascii") + b"\r\n"
    # A long display name: RFC 2047 encoded words of at most 75 characters, one a line, cut
    # after a space where possible (the standard library's refolding can cut inside a word).
    words, chunk = [], b""
    for word in address.name.encode("utf-8").split(b" "):
        piece = word + b" "
        while piece:
            room = 45 - len(chunk)  # 45 bytes -> 60 base64 characters -> 72 a word
            if len(piece) <= room:
                chunk, piece = chunk + piece, b""
            elif chunk:
                words.append(chunk)
                chunk = b""
            else:  # one word longer than a line: cut it between characters
                cut = room
                while cut and (piece[cut] & 0xC0) == 0x80:
                    cut -= 1
                words.append(piece[:cut])
                piece = piece[cut:]
    words.append(chunk[:-1])  # the space added after the last word
    encoded_words = [b"=?utf-8?b?" + binascii.b2a_base64(w, newline=False) + b"?=" for w in words]
    return (
        name.encode("ascii")
        + b": "
        + b"\r\n ".join(encoded_words)
        + b"\r\n <"
        + address.email.encode("ascii")
        + b">\r\n"
    )


def _simple(name: str, value: str) -> bytes:
    """A short ASCII header that changes with every message (not worth caching)."""
    if value.isascii() and value.isprintable() and len(value) < 70:
        return f"{name}: {value}\r\n".encode("ascii")
    return _folded(name, value)


def _plain_addr_spec(addr_spec: str) -> bool:
    return addr_spec.isascii() and addr_spec.isprintable() and " " not in addr_spec


# A multipart boundary need not be secret, only absent from the parts: 128 random bits drawn in
# process. ``secrets`` reads the kernel's random source for each message, and that system call
# hands the interpreter lock to another thread and waits to get it back (a mail pool's sender
# threads paid more for it than for building the message).
_BOUNDARIES = random.Random(secrets.randbits(128))


_MAX_LINE = 78  # RFC 5322's recommended line length; the standard library's threshold too


def _body_part(text: str, subtype: str) -> bytes:
    """One ``text/*`` part: 7bit/8bit when its lines are short (as ``set_content`` does with the
    SMTP policy), base64 otherwise, so no line ever exceeds the limit."""
    lines = text.splitlines()
    data = "\r\n".join(lines).encode("utf-8") + b"\r\n"
    if all(len(line) <= _MAX_LINE for line in lines):
        cte = b"7bit" if data.isascii() else b"8bit"
    else:
        cte = b"base64"
        encoded = binascii.b2a_base64(data, newline=False)
        data = b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + b"\r\n"
    return (
        b"Content-Type: text/" + subtype.encode("ascii") + b'; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: " + cte + b"\r\n\r\n" + data
    )


def email_bytes(outgoing: OutgoingEmail) -> bytes:
    """The message as sent (CRLF line ends; ``smtplib`` dot-stuffs it): the same headers and
    MIME structure as ``build_email``, built without re-folding what repeats across a step."""
    if not outgoing.mandatory and not (outgoing.unsubscribe_mailto or outgoing.unsubscribe_url):
        raise ValueError("a message that is not mandatory needs an unsubscribe address or link")
    message_id = outgoing.message_id or make_msgid(domain=outgoing.sender.domain)
    date = format_datetime(outgoing.date or clock.now())
    head = [
        _folded("From", outgoing.sender),
        _address_line("To", outgoing.recipient),
        _folded("Subject", outgoing.subject),
        _simple("Date", date),
        _simple("Message-ID", message_id),
    ]
    if outgoing.reply_to is not None:
        head.append(_folded("Reply-To", outgoing.reply_to))
    if not outgoing.mandatory:
        links = []
        if outgoing.unsubscribe_url:
            links.append(f"<{outgoing.unsubscribe_url}>")
        if outgoing.unsubscribe_mailto:
            links.append(f"<mailto:{outgoing.unsubscribe_mailto}>")
        head.append(_folded("List-Unsubscribe", ", ".join(links)))
        if outgoing.unsubscribe_url and outgoing.unsubscribe_url.startswith("https://"):
            head.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    head.extend(_folded(name, value) for name, value in outgoing.extra_headers)
    head.append(b"MIME-Version: 1.0\r\n")
    if outgoing.html is None:
        body = _body_part(outgoing.text, "plain")
    else:
        boundary = b"=_envol_%032x" % _BOUNDARIES.getrandbits(128)
        head.append(b'Content-Type: multipart/alternative;\r\n boundary="' + boundary + b'"\r\n')
        body = (
            b"\r\n--"
            + boundary
            + b"\r\n"
            + _body_part(outgoing.text, "plain")
            + b"\r\n--"
            + boundary
            + b"\r\n"
            + _body_part(outgoing.html, "html")
            + b"\r\n--"
            + boundary
            + b"--\r\n"
        )
    if outgoing.language:
        head.append(_folded("Content-Language", outgoing.language))
    # A single part's Content-* headers are the message's own: ``body`` starts with them.
    return b"".join(head) + body
