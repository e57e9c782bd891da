"""The seed content's problems in the reader's language (``messages.yaml``): each one a
``Phrase``, English text to code and logs, worded by ``Problem.localized``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plugin.i18n import Phrase, messages_of

said = messages_of(Path(__file__).with_name("messages.yaml"))


def phrase(key: str, /, **values: Any) -> Phrase:
    return Phrase(said(key, **values))
