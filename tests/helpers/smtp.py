"""The ``smtp_server`` fixture: a real SMTP server on loopback that records every message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugin.demo.mail_catcher import MailCatcher, RecordingHandler, free_port

# What tests import from here.
SmtpServer = MailCatcher
__all__ = ["RecordingHandler", "SmtpServer", "free_port", "smtp_server"]


@pytest.fixture
def smtp_server() -> Iterator[MailCatcher]:
    catcher = MailCatcher.start()
    try:
        yield catcher
    finally:
        catcher.stop()
