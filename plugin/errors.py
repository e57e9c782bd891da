"""Envol's own error types: what the CLI, the webhooks and the tasks know how to report."""

from __future__ import annotations


class EnvolError(Exception):
    """An error with a message meant for a person: one clear sentence saying what to do."""


class ConfigurationError(EnvolError):
    """Settings are missing or invalid."""


class ValidationFailed(EnvolError):
    """Input (a file, a form, a roster) failed validation; ``problems`` lists every one."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []
