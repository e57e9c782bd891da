"""E-mail throughput: one reused SMTP connection vs one connection per message.

10,000 messages (1,000 with --quick) to a local aiosmtpd server on loopback, built exactly as
the campaign builds them (multipart text + HTML, UTF-8 headers). The baseline is the same
mailer opening a fresh connection for every message, measured in the same run.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from bench import Figure
from plugin.mail.config import SmtpConfig
from plugin.mail.message import Address, OutgoingEmail, deterministic_message_id
from plugin.mail.sender import SmtpMailer


def _message(number: int) -> OutgoingEmail:
    return OutgoingEmail(
        sender=Address("lancement@exemple.fr", "L'équipe du lancement"),
        recipient=Address(f"personne{number}@exemple.fr", f"Zoé Lefèvre {number}"),
        subject="Passerelle : notre nouvelle façon de travailler ensemble",
        text="Bonjour Zoé,\n\nLe lundi 1er mars 2027, Exemple SA ouvre Passerelle.\n" * 8,
        html="<p>Bonjour Zoé,</p><p>Le lundi 1er mars 2027, Exemple SA ouvre Passerelle.</p>" * 8,
        message_id=deterministic_message_id(f"bench|{number}", "exemple.fr"),
    )


def _send(url: str, count: int, *, reuse: bool) -> tuple[float, int]:
    messages = [_message(n) for n in range(count)]
    begin = time.perf_counter()
    with SmtpMailer(SmtpConfig.from_url(url), reuse_connections=reuse) as mailer:
        for message in messages:
            mailer.send(message)  # raises if the server refused one: nothing is lost silently
        opened = mailer.connections_opened
    assert mailer.messages_sent == count
    return time.perf_counter() - begin, opened


def _start_server() -> tuple[subprocess.Popen[bytes], int]:
    """aiosmtpd's discarding server in its own process: the client does not share its GIL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, port
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the local SMTP server did not start")


def run(quick: bool) -> list[Figure]:
    count = 1_000 if quick else 10_000
    server, port = _start_server()
    try:
        # Relays usually cap messages per connection; 100 is the mailer's default renewal.
        url = f"smtp://127.0.0.1:{port}?per_connection=100"
        _send(url, min(200, count), reuse=True)  # warm-up: imports, caches
        reused_seconds, reused_connections = _send(url, count, reuse=True)
        fresh_seconds, fresh_connections = _send(url, count, reuse=False)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return [
        Figure(
            benchmark="smtp",
            what=f"{count:,} e-mails, connection reused ({reused_connections} connections)",
            measured=count / reused_seconds,
            baseline=count / fresh_seconds,
            baseline_what=f"one connection per message ({fresh_connections})",
            unit="msg/s",
        )
    ]
