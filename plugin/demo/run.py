"""What every demo step receives: the run (context, console, work folder, shared state)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from plugin import clock
from plugin.app import EnvolContext

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
