"""``ENVOL_SMTP_URL``, parsed into a typed, immutable configuration.

Forms accepted::

    smtp://host:port                      plain SMTP (a local relay, a test server)
    smtp://user:password@host:587?starttls=1
    smtps://user:password@host:465       TLS from the first byte (implicit TLS)

Query options: ``starttls`` (1/0), ``timeout`` (seconds), ``rate`` (messages per second, 0 for no
pacing; shared by all connections), ``per_connection`` (messages before the connection is
renewed), ``connections`` (how many connections a campaign may send on at once; 1 for a relay
that allows only one), ``helo`` (the name announced in EHLO), ``verify`` (0 only for a test relay
with a self-signed certificate).
User and password are percent-decoded, so ``p%40ss`` is ``p@ss``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from plugin.errors import ConfigurationError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_KNOWN_OPTIONS = {
    "starttls",
    "timeout",
    "rate",
    "per_connection",
    "connections",
    "helo",
    "verify",
}
# Hosted relays cap concurrent connections per account (Exchange Online allows 3); on this
# machine's loopback relay 3 connections already give about twice one connection's throughput.
DEFAULT_CONNECTIONS = 3


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"ENVOL_SMTP_URL: option {name}={value!r} must be 1 or 0.")


def _number(name: str, value: str, *, minimum: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(
            f"ENVOL_SMTP_URL: option {name}={value!r} must be a number."
        ) from None
    if number < minimum:
        raise ConfigurationError(f"ENVOL_SMTP_URL: option {name} must be at least {minimum}.")
    return number


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    rate_per_second: float = 0.0
    messages_per_connection: int = 100
    connections: int = DEFAULT_CONNECTIONS
    helo_name: str | None = None
    verify_certificates: bool = True

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """Parse ``ENVOL_SMTP_URL``; a bad value raises ``ConfigurationError`` naming the part."""
        try:
            parts = urlsplit(url.strip())
        except ValueError as error:  # e.g. an unclosed [ of an IPv6 address
            raise ConfigurationError(
                f"ENVOL_SMTP_URL cannot be read ({error}): use smtp://host:port."
            ) from None
        if parts.scheme not in {"smtp", "smtps"}:
            raise ConfigurationError(
                "ENVOL_SMTP_URL must start with smtp:// or smtps:// (got "
                f"{parts.scheme or 'no scheme'}://)."
            )
        host = unquote(parts.hostname or "").strip()
        if not host or any(character.isspace() for character in host):
            raise ConfigurationError(
                "ENVOL_SMTP_URL has no host: use smtp://host:port, e.g. smtp://mail.example.com:587."
            )
        try:
            explicit_port = parts.port
        except ValueError:
            raise ConfigurationError("ENVOL_SMTP_URL has an invalid port number.") from None
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = sorted(set(options) - _KNOWN_OPTIONS)
        if unknown:
            raise ConfigurationError(
                f"ENVOL_SMTP_URL: unknown option(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(_KNOWN_OPTIONS))}."
            )
        implicit_tls = parts.scheme == "smtps"
        starttls = _flag("starttls", options["starttls"]) if "starttls" in options else False
        if implicit_tls and starttls:
            raise ConfigurationError(
                "ENVOL_SMTP_URL: smtps:// is already encrypted; drop starttls=1 or use smtp://."
            )
        default_port = 465 if implicit_tls else (587 if starttls else 25)
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if password is not None and not username:
            raise ConfigurationError("ENVOL_SMTP_URL has a password but no user name.")
        per_connection = int(
            _number("per_connection", options.get("per_connection", "100"), minimum=1)
        )
        return cls(
            host=host,
            port=explicit_port or default_port,
            implicit_tls=implicit_tls,
            starttls=starttls,
            username=username,
            password=password,
            timeout=_number("timeout", options.get("timeout", "30"), minimum=0.1),
            rate_per_second=_number("rate", options.get("rate", "0"), minimum=0),
            messages_per_connection=per_connection,
            connections=int(
                _number(
                    "connections", options.get("connections", str(DEFAULT_CONNECTIONS)), minimum=1
                )
            ),
            helo_name=options.get("helo") or None,
            verify_certificates=_flag("verify", options.get("verify", "1")),
        )

    @property
    def encrypted(self) -> bool:
        return self.implicit_tls or self.starttls

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify_certificates:
            # Only for a test relay with a self-signed certificate; documented as such.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def describe(self) -> str:
        """Where mail goes, without the password: safe for logs and the terminal."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        tls = " (STARTTLS)" if self.starttls else ""
        return f"{scheme}://{user}{self.host}:{self.port}{tls}"

    def __repr__(self) -> str:  # never print the password
        return f"SmtpConfig({self.describe()})"
