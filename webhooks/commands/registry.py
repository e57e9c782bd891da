"""The sub-commands of ``/envol`` (and its aliases): one module each, listed explicitly here,
and ``help``, which lists them.

Every sub-command has usage text and an autocomplete hint in both languages; one parametrised
test checks ``help`` and empty input for all of them. A sub-command module imports
``webhooks.commands.base``, never this registry.
"""

from __future__ import annotations

from webhooks.commands import console, idea, profile, status, support, survey, wave
from webhooks.commands.base import (
    HELP_WORDS,
    MESSAGES,
    Invocation,
    Reply,
    SubCommand,
    fold,
    in_every_language,
)

__all__ = [
    "HELP_WORDS",
    "MESSAGES",
    "autocomplete_hint",
    "build_registry",
    "commands_in_order",
    "fold",
    "help_text",
]


def trigger_of(invocation: Invocation) -> str:
    return invocation.request.command.lstrip("/")


def help_text(invocation: Invocation, *, unknown: str = "") -> str:
    trigger = trigger_of(invocation)
    admin = invocation.integration.is_admin(invocation.request.user_id)
    lines = [
        invocation.say("help.unknown", word=unknown) if unknown else invocation.say("help.title")
    ]
    for command in commands_in_order():
        if command.admin_only and not admin:
            continue
        lines.append(f"- {command.usage_text(trigger, invocation.language)}")
    return "\n".join(lines)


def run_help(invocation: Invocation) -> Reply:
    """``/envol help [command]``: what Envol's commands do."""
    if invocation.args:
        command = build_registry().get(fold(invocation.args[0]))
        if command is not None:
            return Reply(command.usage_text(trigger_of(invocation), invocation.language))
    return Reply(help_text(invocation))


HELP = SubCommand(
    name="help",
    aliases=("aide",),
    usage=in_every_language("help.usage"),
    description=in_every_language("help.description"),
    hint="[command]",
    handler=run_help,
)

# In the order of ``/envol help``.
SUB_COMMANDS = (
    HELP,
    support.COMMAND,
    idea.COMMAND,
    profile.COMMAND,
    survey.COMMAND,
    status.COMMAND,
    wave.COMMAND,
    console.COMMAND,
)


def build_registry() -> dict[str, SubCommand]:
    registry: dict[str, SubCommand] = {}
    for command in SUB_COMMANDS:
        for word in (command.name, *command.aliases):
            if word in registry:
                raise RuntimeError(f"sub-command word {word!r} is registered twice")
            registry[word] = command
    return registry


def commands_in_order() -> list[SubCommand]:
    return list(SUB_COMMANDS)


def autocomplete_hint() -> str:
    return "[" + "|".join(c.name for c in commands_in_order()) + "]"
