"""Envol's own error types: what the CLI, the webhooks and the tasks know how to report.

An error's message (and each of its ``problems``) is either a plain string or a catalogue
message not yet put into words (``plugin.i18n.Message``): ``localized(language)`` words it in
the reader's language — the console's signed-in person, the CLI's operator — while ``str()``
stays English for logs and tracebacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Localizable(Protocol):
    """A text that can be worded in a given language (``fr`` or ``en``)."""

    def localized(self, language: str) -> str: ...


def localize(text: object, language: str) -> str:
    """``text`` in ``language`` when it can be translated, else as it is."""
    return text.localized(language) if isinstance(text, Localizable) else str(text)


class EnvolError(Exception):
    """An error with a message meant for a person: one clear sentence saying what to do."""

    problems: Sequence[object] = ()

    def localized(self, language: str) -> str:
        """The message in ``language`` (English text raised as a plain string stays so)."""
        return localize(self.args[0], language) if self.args else ""

    def localized_problems(self, language: str) -> list[str]:
        return [localize(problem, language) for problem in self.problems]


class ConfigurationError(EnvolError):
    """Settings are missing or invalid."""


class ValidationFailed(EnvolError):
    """Input (a file, a form, a roster) failed validation; ``problems`` lists every one."""

    def __init__(self, message: object, problems: Sequence[object] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])
