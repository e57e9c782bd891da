"""Language helpers shared by every capability: message catalogues and dates, in French and English.

A message catalogue is a YAML file next to the code (``messages.yaml``) mapping a message key to
``{fr: template, en: template}``. Templates are Jinja2 with ``StrictUndefined`` so a missing
variable fails in tests, not in someone's inbox; loading checks that every key has both languages.

Babel holds the CLDR data, so month and weekday names never depend on the server's OS locale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml
from babel.dates import format_date
from jinja2 import Environment, StrictUndefined, Template

from plugin.errors import Localizable, ValidationFailed, localize
from plugin.typography import finish, mark_values

LANGUAGES = ("fr", "en")

# ``mark_values``: French elides before a substituted name ("les équipes d'Exemple SA").
_ENV = Environment(
    undefined=StrictUndefined,
    keep_trailing_newline=False,
    autoescape=False,
    finalize=mark_values,
)


def pick_language(*candidates: str | None, default: str = "fr") -> str:
    """The first candidate that is a supported language (``fr_CA`` counts as ``fr``)."""
    for candidate in candidates:
        if candidate:
            short = str(candidate).lower().replace("-", "_").split("_", 1)[0]
            if short in LANGUAGES:
                return short
    return default


class Catalogue:
    """One ``messages.yaml``: every key in every language, each compiled at its first use.

    Compiling a process's catalogues up front cost the demo 1,664 templates (about 0.5 s of
    Jinja and Python compilation) and every CLI call the whole of its catalogues, for the few
    messages it says; ``compile_all`` is the tests' check that every template compiles."""

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
        self._sources: dict[tuple[str, str], str] = {
            (key, language): str(texts[language])
            for key, texts in raw.items()
            for language in LANGUAGES
        }
        # Filled as messages are said; two threads compiling the same one at once both succeed.
        self._templates: dict[tuple[str, str], Template] = {}
        self.keys = frozenset(raw)

    def template(self, key: str, language: str) -> Template:
        found = self._templates.get((key, language))
        if found is None:
            found = _ENV.from_string(self._sources[(key, language)])
            self._templates[(key, language)] = found
        return found

    def compile_all(self) -> None:
        """Compile every template now (a syntax error or an unknown filter raises)."""
        for key, language in self._sources:
            self.template(key, language)

    def render(self, key: str, language: str, /, **values: Any) -> str:
        """The text for ``key`` in ``language`` (French when the language is unknown)."""
        language = pick_language(language)
        template = self.template(key, language)
        return finish(template.render(**values), language, spacing=False).strip()


@cache
def load_catalogue(path: Path) -> Catalogue:
    """The catalogue at ``path``, read and checked once per process."""
    return Catalogue(path)


@dataclass(frozen=True)
class Message:
    """A catalogue message not yet put into words: a service raises it (in an ``EnvolError`` or
    as one of its ``problems``) without knowing who reads it; the console words it in the
    signed-in person's language, the CLI in the operator's. ``str()`` is the English text (logs).

    A value that is itself a ``Message`` (a problem inside a sentence) is worded in the same
    language."""

    catalogue: Path
    key: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def localized(self, language: str) -> str:
        values = {name: _worded(value, language) for name, value in self.values.items()}
        return load_catalogue(self.catalogue).render(self.key, language, **values)

    def __str__(self) -> str:
        return self.localized("en")


class Phrase(str):
    """A text not yet worded (a catalogue ``Message``, a launch-file problem) that reads as its
    English text wherever a ``str`` is expected — a launch-file problem's ``message`` and a
    refusal's ``problems`` are compared, sorted and searched as text, by code and tests alike —
    and is worded in any language by ``localized``, like the text it holds."""

    said: Localizable

    def __new__(cls, text: Localizable) -> Phrase:
        phrase = super().__new__(cls, text.localized("en"))
        phrase.said = text
        return phrase

    def localized(self, language: str) -> str:
        return self.said.localized(language)


def _worded(value: Any, language: str) -> Any:
    return localize(value, language) if isinstance(value, (Message, Phrase)) else value


def messages_of(path: Path) -> Callable[..., Message]:
    """``said = messages_of(CATALOGUE)``; ``said("key", name=value)`` is a ``Message``."""

    def said(key: str, /, **values: Any) -> Message:
        if key not in load_catalogue(path).keys:  # a typo fails where it is written, in tests
            raise KeyError(f"{path.name}: no message {key!r}")
        return Message(path, key, values)

    return said


# Cached: a campaign formats the same launch date for each of its recipients, and Babel's
# formatting cost more than the rest of building a message's context.
@lru_cache(maxsize=256)
def long_date(day: dt.date, language: str, *, weekday: bool = False) -> str:
    """``1er mars 2027`` / ``1 March 2027``; with ``weekday``: ``lundi 1er mars 2027``."""
    text = format_date(day, "EEEE d MMMM y" if weekday else "d MMMM y", locale=language)
    if language == "fr" and day.day == 1:
        # French writes the first of the month as an ordinal: « le 1er mars ».
        text = text.replace(" 1 ", " 1er ", 1) if weekday else "1er" + text[1:]
    return text


@lru_cache(maxsize=256)
def weekday_name(day: dt.date, language: str) -> str:
    """``lundi`` / ``Monday``."""
    return format_date(day, "EEEE", locale=language)
