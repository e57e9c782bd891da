"""``envol demo``: a whole launch, step by step, on the sandbox and the embedded defaults.

Each capability contributes one step to ``STEPS``; a step receives the ``DemoRun`` (the sandbox,
the context, the accelerated clock) and prints what a user would see.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule

from plugin.app import EnvolContext


@dataclass
class DemoRun:
    context: EnvolContext
    console: Console
    workdir: Path
    people: int
    seed: int
    faults: bool
    started: dt.datetime
    state: dict[str, Any] = field(default_factory=dict)


DemoStep = Callable[[DemoRun], None]


def step_foundation(run: DemoRun) -> None:
    from plugin import db

    db.upgrade(run.context.settings.database_url)
    drift = db.schema_drift(run.context.settings.database_url)
    run.console.print(
        f"database migrated: {run.context.settings.database_url} "
        f"({'in step with the models' if not drift else drift})"
    )


def step_plugin_bundle(run: DemoRun) -> None:
    from plugin.bundle.manifest import build_bundle
    from plugin.settings import PLUGIN_MANIFEST

    target = build_bundle(PLUGIN_MANIFEST, run.workdir / "dist")
    run.console.print(f"plugin bundle for the System Console: {target}")


# The demo's spine. Each capability appends its step here, in the order of a real launch.
STEPS: list[tuple[str, DemoStep]] = [
    ("Foundation: database", step_foundation),
    ("The plugin bundle an admin uploads", step_plugin_bundle),
]


def run_demo(run: DemoRun) -> float:
    """Run every step; returns the elapsed seconds."""
    begin = time.monotonic()
    for title, step in STEPS:
        run.console.print(Rule(f"[bold]{title}"))
        step(run)
    return time.monotonic() - begin
