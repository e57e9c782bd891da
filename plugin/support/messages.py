"""What the support space says to people, in French and English (``messages.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plugin import i18n

MESSAGES = Path(__file__).with_name("messages.yaml")


# ``said("key", name=value)``: a message a service raises, worded for whoever reads it.
said = i18n.messages_of(MESSAGES)


def t(key: str, language: str, **params: Any) -> str:
    """The text for ``key`` in ``language`` (French when the language is unknown)."""
    return i18n.load_catalogue(MESSAGES).render(key, language, **params)
