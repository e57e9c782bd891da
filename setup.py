"""Copy the top-level files the code reads at run time into the wheel (see plugin/resources.py).

Everything else about the build is declared in pyproject.toml; this hook exists only because
setuptools cannot place top-level folders inside a package without it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("plugin.json", "migrations", "seed_content")  # = plugin.resources.SHIPPED


class BuildPyWithContent(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "plugin" / "_content"
        for name in SHIPPED:
            source = Path(name)
            if source.is_dir():
                shutil.copytree(
                    source,
                    target / name,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                )
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildPyWithContent})
