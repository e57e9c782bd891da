"""``envol report`` and ``envol metrics`` from the command line."""

from __future__ import annotations

from click.testing import CliRunner

from plugin.app import EnvolContext
from plugin.cli import root


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
