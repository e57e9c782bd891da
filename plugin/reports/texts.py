"""The reports' texts, in French (default) and English (``messages.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from plugin import i18n

Lang = Literal["fr", "en"]

MESSAGES = Path(__file__).with_name("messages.yaml")


def t(key: str, lang: Lang, **values: object) -> str:
    """The text for ``key`` in ``lang`` with ``values`` filled in."""
    return i18n.load_catalogue(MESSAGES).render(key, lang, **values)


def pct(value: float | None) -> str:
    """A rate for people: ``42 %`` (French spacing in both languages keeps tables aligned)."""
    return "—" if value is None else f"{value:.0f} %"
