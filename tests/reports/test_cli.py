"""``envol report`` and ``envol metrics`` from the command line."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console
from rich.table import Table

from plugin.app import EnvolContext, build_context, set_context
from plugin.cli import root
from plugin.cli.base import console, print_table
from plugin.models import metadata
from plugin.sandbox import Sandbox
from plugin.settings import load_deploy_settings
from tests.people.rosters import person_row, write_csv


def test_report_without_any_snapshot_says_what_to_run(envol_context: EnvolContext) -> None:
    result = CliRunner().invoke(root, ["report"])
    assert result.exit_code == 1
    assert "No adoption snapshot yet: run `envol metrics snapshot` first" in result.output


def test_commands_are_registered_with_their_help() -> None:
    runner = CliRunner()
    report = runner.invoke(root, ["report", "--help"])
    assert report.exit_code == 0
    assert "--html FILE" in report.output and "--csv DIRECTORY" in report.output
    assert "--post" in report.output
    metrics = runner.invoke(root, ["metrics", "--help"])
    assert "snapshot" in metrics.output


# --------------------------------------------------------------------------- 80 columns, fr/en


@pytest.fixture
def launch_cli(sandbox: Sandbox, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """A small launch planned against the sandbox, with a snapshot; runs ``envol`` at 80
    columns (the console's width and ``COLUMNS``) and returns what it printed."""
    settings = load_deploy_settings(
        database_url=f"sqlite:///{tmp_path / 'envol.db'}",
        broker_url=f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        mattermost_url=sandbox.url,
        mattermost_token=sandbox.admin_token,
        public_url="https://envol.example.com",
        secret_key="test-secret-key-0123456789",
    )
    context = build_context(settings)
    set_context(context)
    metadata.create_all(context.engine)
    sandbox.create_team(context.runtime.current.team_name, "Exemple")
    runner = CliRunner()

    def envol(*args: str, code: int = 0, env: dict[str, str] | None = None) -> str:
        before = console.width
        console.width = 80
        try:
            result = runner.invoke(root, list(args), env={"COLUMNS": "80", **(env or {})})
        finally:
            console.width = before
        assert result.exit_code == code, result.output
        return result.output

    roster = write_csv(tmp_path / "roster.csv", [person_row(n) for n in range(1, 30)])
    envol("roster", "import", str(roster))
    envol("cohorts", "plan")
    envol("metrics", "snapshot")
    try:
        yield envol
    finally:
        set_context(None)
        context.dispose()


def test_main_listings_are_readable_at_80_columns(launch_cli: Callable[..., str]) -> None:
    outputs = {
        "waves list": launch_cli("waves", "list"),
        "invitations status": launch_cli("invitations", "status"),
        "preflight": launch_cli("preflight", code=1),  # no bot on the sandbox: blocked
        "report": launch_cli("report"),
    }
    for command, output in outputs.items():
        assert "…" not in output, command  # a cut word or setting name
        assert max(len(line.rstrip()) for line in output.splitlines()) <= 80, command
    assert "managers-champions" in outputs["waves list"]
    assert "ServiceSettings.EnableBotAccountCreation" in outputs["preflight"]
    assert "AllowedUntrustedInternalConnections" in outputs["preflight"]
    # Too wide for 80 columns, the report's funnel becomes a list with whole names.
    assert "contributeurs (28 j)\u00a0:" in outputs["report"]  # French typography
    assert "Place du village" in outputs["report"]


def test_a_narrow_table_becomes_a_list_and_a_fitting_one_stays() -> None:
    narrow = Console(width=40, record=True, file=io.StringIO())
    table = Table(title="Préparation")
    for column in ("réglage", "valeur", "à faire"):
        table.add_column(column)
    table.add_row("GateWeeklyActiveRate", "40", "relever le seuil avant la deuxième vague")
    print_table(table, narrow)
    text = narrow.export_text()
    assert "GateWeeklyActiveRate" in text and "à faire\u00a0:" in text and "┃" not in text
    wide = Console(width=120, record=True, file=io.StringIO())
    print_table(table, wide)
    assert "┃ réglage" in wide.export_text()


def test_the_cli_speaks_the_operators_language(launch_cli: Callable[..., str]) -> None:
    # The plugin's default language is French: the report and the messages follow it.
    assert "Entonnoir — par vague" in launch_cli("report")
    english = launch_cli("--lang", "en", "report")
    assert "Funnel — per wave" in english and "Town Square" in english
    from_env = launch_cli("metrics", "snapshot", env={"ENVOL_LANG": "en"})
    assert from_env.startswith("snapshot of ") and "people" in from_env
    assert launch_cli("metrics", "snapshot").startswith("instantané du ")
    # The option wins over the environment.
    assert "Entonnoir" in launch_cli("--lang", "fr", "report", env={"ENVOL_LANG": "en"})
    refused = launch_cli("--lang", "de", "report", code=2)
    assert "'de' is not a language Envol speaks: use fr or en" in refused
