"""The import contracts of ``make lint`` (``[tool.importlinter]`` in pyproject.toml) hold on the
tree, and catch a capability importing the demo: the tool is run, not trusted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on the ``plugin`` and ``webhooks`` packages found in ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_of_the_tree(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("plugin", "webhooks"):
        shutil.copytree(PROJECT / package, target / package, ignore=ignore)
    shutil.copy(PROJECT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_tree_keeps_every_import_contract() -> None:
    result = lint_imports(PROJECT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_capability_importing_the_demo_breaks_the_contracts(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)
    pilot = tree / "plugin" / "cohorts" / "pilot.py"
    # Inside a function on purpose: a deferred import hides a cycle, it does not remove it.
    pilot.write_text(
        pilot.read_text() + "\n\ndef _peek() -> None:\n    from plugin.demo import runner\n"
    )

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "plugin.cohorts is not allowed to import plugin.demo" in result.stdout
    assert "plugin.cohorts.pilot -> plugin.demo.runner" in result.stdout
    assert "No cycles are allowed in plugin." in result.stdout


def test_a_capability_importing_celery_breaks_the_contracts(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)
    waitlist = tree / "plugin" / "cohorts" / "waitlist.py"
    waitlist.write_text(waitlist.read_text() + "\n\ndef _app() -> None:\n    import celery\n")

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "plugin.cohorts.waitlist -> celery" in result.stdout
