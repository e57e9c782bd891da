"""`envol --help` and `envol waves list --help`: wall time against `python -c "import click"`,
both measured here, each the best of several runs (the machine is shared: the best run is the
one least disturbed). Also the heavy modules loaded for help: none is the goal."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench import Figure

NAME = "cli_startup"
HEAVY = ("sqlalchemy", "celery", "matplotlib", "openapi_core")


def _envol() -> list[str]:
    script = Path(sys.executable).with_name("envol")
    return [str(script)] if script.exists() else [sys.executable, "-m", "plugin.cli"]


def _best(argv: list[str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        begin = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - begin)
    return best


def _heavy_loaded(argv: list[str]) -> list[str]:
    code = (
        "import json, sys\n"
        f"sys.argv = ['envol', *{argv!r}]\n"
        "from plugin.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    loaded = json.loads(result.stderr.strip().splitlines()[-1])
    return sorted({m.split(".")[0] for m in loaded if m.split(".")[0] in HEAVY})


def run(quick: bool) -> list[Figure]:
    runs = 5 if quick else 11
    click_only = _best([sys.executable, "-c", "import click"], runs)
    figures = []
    for argv in (["--help"], ["waves", "list", "--help"]):
        wall = _best([*_envol(), *argv], runs)
        heavy = _heavy_loaded(argv)
        loaded = ", ".join(heavy) if heavy else "no SQLAlchemy, Celery, matplotlib, openapi-core"
        figures.append(
            Figure(
                NAME,
                f"`envol {' '.join(argv)}` wall time, best of {runs} ({loaded})",
                wall,
                click_only,
                f'`python -c "import click"`, best of {runs}',
                "s",
                goal_max=3,
            )
        )
    return figures
