"""``/envol help [command]``: what Envol's commands do."""

from __future__ import annotations

from webhooks.commands.registry import (
    Invocation,
    Reply,
    SubCommand,
    commands_in_order,
    fold,
    in_every_language,
)


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


def run(invocation: Invocation) -> Reply:
    from webhooks.commands.registry import build_registry

    if invocation.args:
        command = build_registry().get(fold(invocation.args[0]))
        if command is not None:
            return Reply(command.usage_text(trigger_of(invocation), invocation.language))
    return Reply(help_text(invocation))


COMMAND = SubCommand(
    name="help",
    aliases=("aide",),
    usage=in_every_language("help.usage"),
    description=in_every_language("help.description"),
    hint="[command]",
    handler=run,
)
