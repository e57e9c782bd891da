"""Message catalogues: user-facing texts in French and English, kept in YAML next to the code.

A catalogue file maps a message key to ``{fr: template, en: template}``; templates are Jinja2 with
``StrictUndefined`` so a missing variable fails in tests, not in someone's inbox. Loading checks
that every key has both languages.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, Template

from plugin.errors import ValidationFailed

LANGUAGES = ("fr", "en")

_ENV = Environment(undefined=StrictUndefined, keep_trailing_newline=False, autoescape=False)


def pick_language(*candidates: str | None, default: str = "fr") -> str:
    """The first candidate that is a supported language (``fr_CA`` counts as ``fr``)."""
    for candidate in candidates:
        if candidate:
            short = str(candidate).lower().replace("-", "_").split("_", 1)[0]
            if short in LANGUAGES:
                return short
    return default


class Catalogue:
    def __init__(self, path: Path) -> None:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        problems = [
            f"{path.name}: {key}: missing language {language}"
            for key, texts in raw.items()
            for language in LANGUAGES
            if not isinstance(texts, dict) or not str(texts.get(language, "")).strip()
        ]
        if problems:
            raise ValidationFailed(f"message catalogue {path.name} is incomplete", problems)
        self.path = path
        self._templates: dict[tuple[str, str], Template] = {
            (key, language): _ENV.from_string(str(texts[language]))
            for key, texts in raw.items()
            for language in LANGUAGES
        }
        self.keys = frozenset(raw)

    def render(self, key: str, language: str, **values: Any) -> str:
        template = self._templates[(key, pick_language(language))]
        return template.render(**values).strip()


@cache
def load(path: Path) -> Catalogue:
    return Catalogue(path)
