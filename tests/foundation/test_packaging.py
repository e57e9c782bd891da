"""The wheel a production install gets: the code, the files it reads at run time, no simulation.

Built once per run (about 20 s): `pip install envol` must give a server that starts, which
needs plugin.json, the migrations and the default launch content inside the wheel.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from plugin.resources import SHIPPED

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        cwd=build,
        capture_output=True,
    )
    (found,) = out.glob("envol-*.whl")
    return found


def test_the_wheel_carries_every_file_the_code_reads_at_run_time(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in SHIPPED:
        source = ROOT / shipped
        files = [source] if source.is_file() else [p for p in source.rglob("*") if p.is_file()]
        for path in files:
            if "__pycache__" in path.parts:
                continue
            assert f"plugin/_content/{path.relative_to(ROOT).as_posix()}" in names, path


def test_an_installed_wheel_reads_its_own_copy(wheel: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path)
    probe = (
        "from plugin.db import MIGRATIONS_DIR; from plugin.settings import PLUGIN_MANIFEST;"
        "print(MIGRATIONS_DIR); print(PLUGIN_MANIFEST)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    ).stdout.split()
    assert shown == [
        str(tmp_path / "plugin" / "_content" / "migrations"),
        str(tmp_path / "plugin" / "_content" / "plugin.json"),
    ]
    assert (tmp_path / "plugin" / "_content" / "migrations" / "env.py").is_file()


def test_a_production_install_does_not_pull_the_simulation(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (metadata_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    unconditional = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    assert unconditional, "no dependencies read from the wheel's metadata"
    for simulation_only in (
        "aiosmtpd",
        "openapi-core",
        "websocket-client",
        "simple-websocket",
        "pytest",
    ):
        assert not [r for r in unconditional if r.startswith(simulation_only)], simulation_only
