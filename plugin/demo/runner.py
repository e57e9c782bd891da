"""``envol demo``: a whole launch, step by step, on the sandbox and the embedded defaults.

The stage (``plugin/demo/stage.py``) starts the simulated clock, the Mattermost sandbox, a mail
catcher, the webhooks and a worker; each capability then contributes one step to ``STEPS``,
in the order of a real launch, printing what a user would see.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from plugin import clock
from plugin.app import EnvolContext
from plugin.campaigns.demo import step_campaign
from plugin.cohorts.demo import step_people_and_waves
from plugin.demo.launch import step_launch
from plugin.invitations.demo import step_invitations_outcome
from plugin.metrics.demo import step_metrics
from plugin.preflight.demo import step_preflight
from plugin.seeding.demo import step_seed_and_brand
from plugin.support.demo import step_support

if TYPE_CHECKING:
    from plugin.demo.stage import DemoStage


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
    stage: DemoStage | None = None

    @property
    def clock(self) -> clock.FrozenClock | clock.SharedFileClock:
        """The demo's clock: the stage's shared one, else a frozen clock made current."""
        if self.stage is not None:
            return self.stage.clock
        frozen = self.state.get("clock")
        if not isinstance(frozen, clock.FrozenClock):
            frozen = self.state["clock"] = clock.FrozenClock(clock.now())
            clock.set_source(frozen)
        return frozen


DemoStep = Callable[[DemoRun], None]


def step_foundation(run: DemoRun) -> None:
    from plugin import db

    url = run.context.settings.database_url
    db.upgrade(url)
    drift = db.schema_drift(url)
    run.console.print(f"database: {url} ({drift or 'in step with the models'})")
    if run.stage is not None:
        stage = run.stage
        run.console.print(
            f"Mattermost sandbox: {stage.sandbox.url} · webhooks: {stage.webhooks_url} · "
            f"mail catcher: {stage.mail.url} · a worker on {run.context.settings.broker_url}"
        )
        run.console.print(f"simulated clock: {clock.now():%A %d %B %Y %H:%M} UTC")


def step_plugin_bundle(run: DemoRun) -> None:
    from plugin.bundle.manifest import build_bundle
    from plugin.settings import PLUGIN_MANIFEST

    target = build_bundle(PLUGIN_MANIFEST, run.workdir / "dist")
    run.console.print(f"plugin bundle for the System Console: {target}")


# The demo's spine, in the order of a real launch.
STEPS: list[tuple[str, DemoStep]] = [
    ("Foundation: database, sandbox, webhooks, worker", step_foundation),
    ("The plugin bundle an admin uploads", step_plugin_bundle),
    ("Preflight: what the Mattermost server allows", step_preflight),
    ("Branding and the launch content, before anyone arrives", step_seed_and_brand),
    ("People: the roster, the pilot and the waves", step_people_and_waves),
    ("The communication plan: teasers, the CEO's announcement, launch day", step_campaign),
    ("The launch: managers and champions, the pilot, three months, the gate", step_launch),
    ("Support space, a poll and the launch survey", step_support),
    ("Adoption: the report and the weekly post", step_metrics),
]
STEPS.append(("Invitations and onboarding: what people received", step_invitations_outcome))


def run_demo(run: DemoRun) -> float:
    """Run every step; returns the elapsed seconds."""
    begin = time.monotonic()
    timings = Table(title="Where the demo's time went", title_justify="left")
    timings.add_column("step")
    timings.add_column("seconds", justify="right")
    for title, step in STEPS:
        run.console.print(Rule(f"[bold]{title}"))
        started = time.monotonic()
        step(run)
        timings.add_row(title, f"{time.monotonic() - started:.1f}")
    run.console.print(timings)
    return time.monotonic() - begin
