"""The handler contract: every sub-command in the registry has usage text and an autocomplete
hint in both languages, answers ``help`` with its usage, and copes with empty input."""

from __future__ import annotations

import re

import pytest

from plugin import i18n
from tests.support.world import SupportWorld
from webhooks.commands.registry import MESSAGES, build_registry, commands_in_order, fold

COMMANDS = commands_in_order()


def test_registry_lists_every_sub_command_once() -> None:
    names = [c.name for c in COMMANDS]
    assert names == ["help", "support", "idea", "profile", "survey", "status", "wave", "console"]
    registry = build_registry()
    assert registry["aide"].name == "help" and registry["idee"].name == "idea"
    assert fold("Idée") == "idee"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_usage_and_hint_in_both_languages(command) -> None:  # type: ignore[no-untyped-def]
    for language in ("fr", "en"):
        assert command.usage[language].startswith(command.name)
        assert command.description[language]
    assert command.hint == "" or command.hint.startswith(("[", "<"))


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_help_and_empty_input(command, support_world: SupportWorld) -> None:  # type: ignore[no-untyped-def]
    world = support_world
    root = world.admin  # an admin: admin-only commands answer too
    root.run_command(world.town_square_id, f"/envol {command.name} help")
    usage = world.ephemeral_texts(root)[-1]
    assert usage.startswith(f"`/envol {command.usage['en']}`")

    before = len(world.ephemeral_texts(root))
    dialogs = len(world.sandbox.dialogs_for(root.user_id))
    root.run_command(world.town_square_id, f"/envol {command.name}")  # no arguments
    # Either an answer or a dialog, never an error (run_command raises on a non-200).
    answered = len(world.ephemeral_texts(root)) > before
    opened = len(world.sandbox.dialogs_for(root.user_id)) > dialogs
    assert answered or opened

    if command.admin_only:
        world.carol.run_command(world.town_square_id, f"/envol {command.name}")
        assert "administrators only" in world.ephemeral_texts(world.carol)[-1]


def test_every_text_key_the_commands_use_is_in_the_catalogue_and_no_other() -> None:
    # Keys are plain strings in the handlers: a typo would only show as a KeyError in a reply.
    catalogue = i18n.load_catalogue(MESSAGES)
    source = "\n".join(path.read_text(encoding="utf-8") for path in MESSAGES.parent.glob("*.py"))
    used = set(re.findall(r'(?:say|in_every_language)\(\s*"([\w.]+)"', source))
    assert used == catalogue.keys
