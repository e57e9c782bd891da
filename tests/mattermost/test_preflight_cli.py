"""``envol preflight`` against the sandbox: the table, the exit status, the fixes listed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.app import EnvolContext, build_context, set_context
from plugin.cli import root
from plugin.cli.base import console
from plugin.sandbox import Sandbox
from plugin.settings import load_deploy_settings


@pytest.fixture
def cli_context(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EnvolContext]:
    monkeypatch.setattr(console, "width", 220)  # one line per row, whatever the terminal
    settings = load_deploy_settings(
        database_url=f"sqlite:///{tmp_path / 'envol.db'}",
        mattermost_url=sandbox.url,
        mattermost_token=sandbox.admin_token,
        public_url="https://envol.example.com",
    )
    context = build_context(settings)
    set_context(context)
    yield context
    set_context(None)
    context.dispose()


def test_preflight_blocks_and_lists_the_fix(cli_context: EnvolContext) -> None:
    arguments = ["preflight", "--cohort-size", "150", "--cohort-size", "1350"]
    result = CliRunner().invoke(root, ["--lang", "en", *arguments], terminal_width=200)
    french = CliRunner().invoke(root, ["--lang", "fr", *arguments], terminal_width=200)
    assert result.exit_code == french.exit_code == 1, result.output
    assert "MaxUsersPerTeam = 50" in result.output
    assert "Bloqué. Changez ceci avant le lancement\u00a0:" in french.output
    assert "Blocked." in result.output
    assert '"MaxUsersPerTeam": 1700' in result.output.split("Blocked.")[1]


def test_preflight_passes_on_a_ready_server(sandbox: Sandbox, cli_context: EnvolContext) -> None:
    sandbox.patch_config(
        {
            "TeamSettings": {"MaxUsersPerTeam": 500},
            "PluginSettings": {
                "Plugins": {"fr.envol.launch": {"companyname": "Acme", "launchdate": "2027-05-03"}}
            },
        }
    )
    sandbox.create_bot("envol", "Envol")
    arguments = ["preflight", "--cohort-size", "300"]
    result = CliRunner().invoke(root, ["--lang", "en", *arguments], terminal_width=200)
    french = CliRunner().invoke(root, ["--lang", "fr", *arguments], terminal_width=200)
    assert result.exit_code == french.exit_code == 0, result.output
    assert "Nothing blocks the launch." in result.output
    assert "Rien ne bloque le lancement." in french.output
    assert "need a licence" in result.output  # Team Edition: bookmarks warning


def test_preflight_table_speaks_the_operators_language(cli_context: EnvolContext) -> None:
    """The checks' names, findings and actions, not only the verdict, in --lang's language."""
    arguments = ["preflight", "--cohort-size", "150", "--cohort-size", "1350"]
    english = CliRunner().invoke(root, ["--lang", "en", *arguments], terminal_width=200).output
    french = CliRunner().invoke(root, ["--lang", "fr", *arguments], terminal_width=200).output
    assert "Team size" in english and "1,500 people planned (2 cohorts)" in english
    assert "Taille d'équipe" in french and "1\u202f500 personnes prévues (2 cohortes)" in french
    assert "Team size" not in french and "people planned" not in french
    assert "no licence (Team Edition or unlicensed Enterprise)" in english
    assert "pas de licence (Team Edition ou Enterprise sans licence)" in french
    # The blockers under the verdict: the check's name, then what to change.
    assert "• Bot account: set ServiceSettings.EnableBotAccountCreation = true" in english
    assert (
        "• Compte bot\u00a0: mettez ServiceSettings.EnableBotAccountCreation = true, "
        "puis créez le bot" in french
    )
    assert "│ bloquant" in french and "│ block " in english
