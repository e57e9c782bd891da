"""Text from a person or a file is printed as text by every command: Rich markup in it neither
crashes the command nor turns into styles or links."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from plugin.app import EnvolContext
from plugin.cli import root
from plugin.cli.base import EnvolGroup, console
from plugin.cohorts.models import WaitlistRequest
from plugin.people.models import Language

HOSTILE = "[link=https://evil.example/x]Cliquez[/link] [blink]vite[/blink] [/] [bold"


def _squeezed(text: str) -> str:
    """Without spaces and table borders: the console wraps long cells and lines."""
    return "".join(char for char in text if not char.isspace() and char not in "│┃")


def test_waitlist_list_prints_a_reason_with_markup_as_text(
    envol_context: EnvolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "_width", 300)  # the cell whole, not cut with an ellipsis
    with envol_context.sessions.begin() as session:
        session.add(
            WaitlistRequest(email="quelqu.un@exemple.fr", reason=HOSTILE, language=Language.FR)
        )
    result = CliRunner().invoke(root, ["waitlist", "list"], terminal_width=400)
    assert result.exit_code == 0, result.output
    assert _squeezed(HOSTILE) in _squeezed(result.output)  # printed as typed, in a table cell


def test_roster_errors_print_values_with_markup_as_text(
    envol_context: EnvolContext, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "email,first_name,last_name,department\n"
        f"pas-une-adresse[/],{HOSTILE},Durand,RH\n"
        "ok@exemple.fr,Ana,Martin,[/]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(root, ["roster", "diff", str(roster)], terminal_width=400)
    assert "MarkupError" not in result.output and "Unexpected error" not in result.output
    assert "Erreur inattendue" not in result.output
    assert "pas-une-adresse[/]" in result.output


def test_the_unexpected_error_handler_prints_the_message_as_text() -> None:
    @click.group(cls=EnvolGroup)
    def group() -> None:
        pass

    @group.command()
    def boom() -> None:
        raise RuntimeError(HOSTILE)

    result = CliRunner(env={"ENVOL_LANG": "en"}).invoke(group, ["boom"], terminal_width=400)
    french = CliRunner(env={"ENVOL_LANG": "fr"}).invoke(group, ["boom"], terminal_width=400)
    assert result.exit_code == french.exit_code == 1
    assert _squeezed(f"Unexpected error: RuntimeError: {HOSTILE}") in _squeezed(result.output)
    assert _squeezed(f"Erreur inattendue\u00a0: RuntimeError: {HOSTILE}") in _squeezed(
        french.output
    )
    assert "(relancez avec --debug pour le détail)" in " ".join(french.output.split())


@pytest.mark.parametrize("value", ["[/]", "[red]x", "a\\"])
def test_shown_escapes_what_rich_would_read_as_markup(value: str) -> None:
    from rich.console import Console

    from plugin.cli.base import shown

    console = Console(record=True, width=200)
    console.print(f"[bold]{shown(value)}[/]")
    assert console.export_text().rstrip("\n") == value
