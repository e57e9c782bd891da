"""`envol --help` answers at once: the command modules load on demand, and help loads neither
SQLAlchemy, Celery, matplotlib nor openapi-core (issue 18; timed by bench/bench_cli_startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from plugin.cli import COMMAND_GROUPS, root

HEAVY = ("sqlalchemy", "celery", "matplotlib", "openapi_core")

LOADED_AFTER = """
import json, sys
sys.argv = ["envol", *{argv!r}]
from plugin.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["--help"], ["waves", "list", "--help"]])
def test_help_imports_no_heavy_module(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: envol" in result.stdout
    loaded = json.loads(result.stderr.strip().splitlines()[-1])
    assert [name for name in loaded if name.split(".")[0] in HEAVY] == []


def test_the_registry_lists_every_command_with_its_own_short_help() -> None:
    root.load_all()

    assert set(root.commands) == set(COMMAND_GROUPS)
    for name, (module, short_help) in COMMAND_GROUPS.items():
        command = root.commands[name]
        assert command.callback is not None and command.callback.__module__ == module, name
        assert command.get_short_help_str(1000) == short_help, name


def test_the_top_level_help_lists_every_command() -> None:
    help_text = root.get_help(click.Context(root, info_name="envol"))

    for name in COMMAND_GROUPS:
        assert f"\n  {name} " in help_text
