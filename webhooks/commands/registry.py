"""The sub-commands of ``/envol`` (and its aliases): one module each, listed explicitly here.

Every sub-command has usage text and an autocomplete hint in both languages; one parametrised
test checks ``help`` and empty input for all of them. What the commands say, usage and
description included, lives in ``messages.yaml`` next to this module (a ``plugin.i18n``
catalogue, like every capability's).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugin import i18n
from webhooks.commands.env import Integration
from webhooks.commands.payloads import CommandRequest

MESSAGES = Path(__file__).with_name("messages.yaml")


def t(key: str, language: str, **params: Any) -> str:
    """The text for ``key`` in ``language`` (French when the language is unknown)."""
    return i18n.load_catalogue(MESSAGES).render(key, language, **params)


def in_every_language(key: str) -> dict[str, str]:
    """``{"fr": …, "en": …}`` for ``key``: a command's usage and description."""
    return {language: t(key, language) for language in i18n.LANGUAGES}


@dataclass(frozen=True)
class Reply:
    """A slash command response: ephemeral unless meant for the channel."""

    text: str = ""
    in_channel: bool = False
    attachments: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        if not self.text and not self.attachments:
            return {}  # e.g. a dialog was opened: nothing to show in the channel
        body: dict[str, Any] = {
            "response_type": "in_channel" if self.in_channel else "ephemeral",
            "text": self.text,
        }
        if self.attachments:
            body["attachments"] = self.attachments
        return body


@dataclass(frozen=True)
class Invocation:
    """One run of a sub-command: who, where, with which words, in which language."""

    request: CommandRequest
    args: tuple[str, ...]
    language: str
    integration: Integration

    @property
    def rest(self) -> str:
        """The text after the sub-command's name, as typed."""
        parts = self.request.text.split(None, 1)
        return parts[1].strip() if len(parts) > 1 else ""

    def say(self, key: str, **params: Any) -> str:
        """The catalogue text ``key`` in the invoker's language."""
        return t(key, self.language, **params)


Handler = Callable[[Invocation], Reply]


@dataclass(frozen=True)
class SubCommand:
    name: str
    aliases: tuple[str, ...]
    usage: Mapping[str, str]
    description: Mapping[str, str]
    hint: str
    handler: Handler
    admin_only: bool = False

    def usage_text(self, trigger: str, language: str) -> str:
        usage = self.usage.get(language) or self.usage["fr"]
        description = self.description.get(language) or self.description["fr"]
        return f"`/{trigger} {usage}`: {description}"


def fold(word: str) -> str:
    """``Idée`` → ``idee``: sub-command names match without case or accents."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


HELP_WORDS = frozenset({"help", "aide", "?", "-h", "--help"})


def build_registry() -> dict[str, SubCommand]:
    from webhooks.commands import (
        console,
        help_command,
        idea,
        profile,
        status,
        support,
        survey,
        wave,
    )

    commands = [
        module.COMMAND
        for module in (help_command, support, idea, profile, survey, status, wave, console)
    ]
    registry: dict[str, SubCommand] = {}
    for command in commands:
        for word in (command.name, *command.aliases):
            if word in registry:
                raise RuntimeError(f"sub-command word {word!r} is registered twice")
            registry[word] = command
    return registry


def commands_in_order() -> list[SubCommand]:
    seen: dict[str, SubCommand] = {}
    for command in build_registry().values():
        seen.setdefault(command.name, command)
    return list(seen.values())


def autocomplete_hint() -> str:
    return "[" + "|".join(c.name for c in commands_in_order()) + "]"
