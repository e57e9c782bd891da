"""Every irreversible command shares one confirmation mechanism: --dry-run and --yes."""

from __future__ import annotations

import click
import pytest

from plugin.cli import root

IRREVERSIBLE = [
    ("waves", "launch"),
    ("campaign", "send-due"),
    ("seed", "apply"),
    ("brand", "apply"),
    ("roster", "import"),
    ("people", "forget"),
    ("invitations", "retry-failed"),
]


def command(group: str, name: str) -> click.Command:
    parent = root.get_command(click.Context(root), group)  # the CLI imports its groups lazily
    assert isinstance(parent, click.Group)
    return parent.commands[name]


@pytest.mark.parametrize(("group", "name"), IRREVERSIBLE)
def test_irreversible_commands_have_dry_run_and_yes(group: str, name: str) -> None:
    options = {param.name for param in command(group, name).params}

    assert {"dry_run", "yes"} <= options


def test_onboarding_run_once_has_a_dry_run() -> None:
    assert "dry_run" in {param.name for param in command("onboarding", "run-once").params}


def test_without_a_terminal_the_question_is_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    from plugin.cli.base import confirm_irreversible
    from plugin.errors import EnvolError

    monkeypatch.setattr("plugin.cli.base.has_terminal", lambda: False)
    confirm_irreversible("Send everything", yes=True)  # --yes: no question, no refusal
    refusal = "Send everything needs a confirmation and there is no terminal to ask on: run it"
    with pytest.raises(EnvolError, match=refusal + " again with --yes"):
        confirm_irreversible("Send everything", yes=False)
