"""``envol demo``: a whole launch, step by step, on the sandbox and the embedded defaults.

The stage (``plugin/demo/stage.py``) starts the simulated clock, the Mattermost sandbox, a mail
catcher, the webhooks and a worker; the steps of ``plugin.demo.steps.STEPS`` then run in the
order of a real launch, printing what a user would see.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from plugin import clock
from plugin.demo.fake_roster import DOMAIN
from plugin.demo.ledger import (
    Ledger,
    LedgerDifference,
    build_ledger,
    compare_ledgers,
    read_ledger,
    write_ledger,
)
from plugin.demo.run import DemoRun
from plugin.demo.steps import STEPS
from plugin.errors import EnvolError

if TYPE_CHECKING:
    from plugin.demo.stage import DemoStage


def run_demo(run: DemoRun) -> float:
    """Run every step; returns the elapsed seconds."""
    begin = time.monotonic()
    timings = Table(title="Where the demo's time went", title_justify="left")
    timings.add_column("step")
    timings.add_column("seconds", justify="right")
    try:
        for title, step in STEPS:
            run.console.print(Rule(f"[bold]{title}"))
            started = time.monotonic()
            step(run)
            timings.add_row(title, f"{time.monotonic() - started:.1f}")
    finally:
        for close in run.state.pop("closers", []):
            close()  # what a step left running for the later ones (the campaign's SMTP server)
    run.console.print(timings)
    return time.monotonic() - begin


OUTCOME_FILE = "run.json"
LEDGER_FILE = "ledger.json"


@dataclass(frozen=True)
class StagedOutcome:
    """What one whole demo on the stage left behind, beyond what it printed; written to
    ``<workdir>/run.json`` and ``<workdir>/ledger.json``."""

    workdir: Path
    people: int
    seed: int
    with_faults: bool
    elapsed: float  # seconds
    ledger: Ledger
    injected: dict[str, int]  # the sandbox's request log: injected faults and 429s, by kind
    envol_requests: int  # requests Envol sent to the sandbox (simulated people's excluded)
    # With --contract: every exchange that broke Mattermost's OpenAPI spec (known gaps aside);
    # None when the contract was not checked.
    contract_violations: list[str] | None = None

    def write(self) -> None:
        write_ledger(self.ledger, self.workdir / LEDGER_FILE)
        figures = {
            "people": self.people,
            "seed": self.seed,
            "faults": self.with_faults,
            "elapsed_seconds": round(self.elapsed, 1),
            "envol_requests": self.envol_requests,
            "injected": self.injected,
            "contract_violations": self.contract_violations,
        }
        (self.workdir / OUTCOME_FILE).write_text(json.dumps(figures, indent=1) + "\n")

    @classmethod
    def read(cls, workdir: Path) -> StagedOutcome:
        figures = json.loads((workdir / OUTCOME_FILE).read_text())
        return cls(
            workdir=workdir,
            people=int(figures["people"]),
            seed=int(figures["seed"]),
            with_faults=bool(figures["faults"]),
            elapsed=float(figures["elapsed_seconds"]),
            ledger=read_ledger(workdir / LEDGER_FILE),
            injected={str(k): int(v) for k, v in figures["injected"].items()},
            envol_requests=int(figures["envol_requests"]),
            contract_violations=figures.get("contract_violations"),
        )


CONSOLE_LINK_MINUTES = 60


def console_link(stage: DemoStage, run: DemoRun) -> tuple[str, str]:
    """A sign-in link to the launch console for the demo's launch lead (the sandbox's system
    admin, who set the server up and sits on the launch committee), and their username."""
    from plugin.console.signin import link_for_username
    from plugin.mattermost import MattermostClient

    with MattermostClient(stage.mattermost_url, stage.admin_token) as client:
        username = str(client.get_me()["username"])
        link, _ = link_for_username(
            client, run.context.runtime.current, stage.settings, username,
            minutes=CONSOLE_LINK_MINUTES,
        )  # fmt: skip
    return link, username


def _offer_console(stage: DemoStage, run: DemoRun, *, serve: bool) -> None:
    """Print the console's sign-in link; with ``serve``, keep the stage up until Ctrl-C."""
    say = run.console.print
    try:
        link, username = console_link(stage, run)
    except EnvolError as refused:
        say(f"[yellow]no link to the launch console:[/] {refused}")
        return
    say(Rule("[bold]The launch console"))
    say(f"@{username}, the launch lead, is signed in by this link (single use, "
        f"{CONSOLE_LINK_MINUTES} minutes):")  # fmt: skip
    say(link, markup=False, soft_wrap=True)
    if not serve:
        say("it works while the demo serves: run `make demo` (envol demo --serve) and open "
            "the link it prints in a browser on this machine")  # fmt: skip
        return
    say("open it in a browser on this machine; the sandbox, the webhooks and the console "
        "keep running until you press Ctrl-C")  # fmt: skip
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl-C does
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        say("stopping the demo's servers")
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def run_staged_demo(
    workdir: Path,
    *,
    people: int,
    seed: int,
    faults: bool,
    console: Console,
    serve: bool = False,
    contract: bool = False,
    mattermost_url: str | None = None,
    token: str | None = None,
    public_url: str | None = None,
) -> StagedOutcome:
    """The whole demo on a fresh stage in ``workdir`` (emptied first), then its ledger, and
    the launch console's sign-in link (kept open until Ctrl-C with ``serve``).

    The ledger is read once the worker has stopped, so a task it finished while shutting down
    is counted; what it never ran is missing, and a comparison says so.

    With ``mattermost_url`` and ``token``, a rehearsal on that server (see ``DemoStage``):
    the record of what earlier rehearsals created there (``workdir/rehearsal.json``) survives
    the reset, so that ``--clean`` removes them all; the ledger holds the e-mails only.
    """
    from plugin.demo.scene import SCENE_RECORD_FILE

    record = workdir / SCENE_RECORD_FILE
    kept = record.read_bytes() if mattermost_url and record.exists() else None
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    if kept is not None:
        record.write_bytes(kept)
    from plugin.demo.stage import DemoStage

    stage = DemoStage.start(
        workdir.resolve(), seed=seed, faults=faults, contract=contract,
        mattermost_url=mattermost_url, token=token, public_url=public_url,
    )  # fmt: skip
    state: dict[str, object] = {"mail": stage.mail, "scene": stage.scene}
    if stage.sandbox is not None:
        state["sandbox"] = stage.sandbox
    try:
        run = DemoRun(
            context=stage.context(),
            console=console,
            workdir=workdir,
            people=people,
            seed=seed,
            faults=faults,
            started=clock.now(),
            stage=stage,
            state=state,
        )
        with _collected_as_a_batch():
            elapsed = run_demo(run)
        stage.settle()  # the ledger counts what the worker was asked to send
        _offer_console(stage, run, serve=serve)
        if stage.rehearsal:
            _report_rehearsal(stage, run)
    finally:
        stage.stop()
    ledger = build_ledger(
        stage.sandbox, list(stage.mail.messages), run_urls=(stage.webhooks_url, stage.mail.url)
    )
    outcome = StagedOutcome(
        workdir=workdir,
        people=people,
        seed=seed,
        with_faults=faults,
        elapsed=elapsed,
        ledger=ledger,
        injected=stage.fault_tally(),
        envol_requests=stage.envol_request_count(),
        contract_violations=[str(v) for v in stage.sandbox.violations]
        if contract and stage.sandbox is not None
        else None,
    )
    outcome.write()
    return outcome


# Allocations between two collections of the youngest generation (Python's default: 700).
BATCH_GC_THRESHOLD = 20_000


@contextlib.contextmanager
def _collected_as_a_batch() -> Iterator[None]:
    """The demo as the batch it is: the young generation is collected every 20,000
    allocations rather than 700. A launch makes millions of short-lived objects (rows,
    requests, JSON); with the defaults the collector took about 2 s of a 1,500-person demo,
    3 % of its time. Reference counting still frees nearly everything at once: only cycles
    wait longer. (Nothing is frozen here: the campaign dispatcher freezes for each of its runs
    unless objects are frozen already, and asking that walks every frozen object.)"""
    thresholds = gc.get_threshold()
    gc.set_threshold(BATCH_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _report_rehearsal(stage: DemoStage, run: DemoRun) -> None:
    """What the rehearsal left on the server, and how to remove it."""
    say = run.console.print
    say(Rule("[bold]What the rehearsal created on " + stage.mattermost_url))
    for line in stage.scene.record.lines():
        say(f"  {line}", markup=False)
    say(
        f"  and the simulated employees (e-mails @{DOMAIN}) who joined the team, their posts, "
        "DMs and reactions; Envol's slash commands on the team"
    )
    say(
        "the delivery ledger holds the e-mails only: the server's own records (posts, "
        "memberships) are not read back on a real server"
    )
    say(
        f"remove it: envol demo --mattermost-url {stage.mattermost_url} --token … --clean "
        f"--workdir {run.workdir}",
        markup=False,
    )


@dataclass(frozen=True)
class ComparedRuns:
    """A fault-free launch and a second one (with faults, or not) of the same seed and people."""

    fault_free: StagedOutcome
    second: StagedOutcome
    differences: list[LedgerDifference]


def compare_runs(
    workdir: Path,
    *,
    people: int,
    seed: int,
    faults: bool,
    timeout: float = 3600,
    contract: bool = False,
) -> ComparedRuns:
    """Run the fault-free launch and the second one side by side, each in its own ``envol
    demo`` process (``workdir/fault-free``, ``workdir/second``; transcripts next to them as
    ``.txt``), then compare their ledgers.

    With ``contract``, the fault-free launch checks every exchange against Mattermost's
    OpenAPI spec (``envol demo --contract``).

    Separate processes because a stage is process-wide (the clock, the Envol context, the
    Celery app); side by side because most of a faulty run is spent waiting out back-offs.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "COLUMNS": "100", "PYTHONUNBUFFERED": "1"}
    started: list[tuple[Path, subprocess.Popen[bytes]]] = []
    try:
        for name, with_faults in (("fault-free", False), ("second", faults)):
            target = workdir / name
            command = [sys.executable, "-m", "plugin.cli", "demo", "--people", str(people)]
            command += ["--seed", str(seed), "--workdir", str(target)]
            command += ["--faults"] if with_faults else []
            # The contract is checked on the fault-free run: injected faults are not answers
            # a real server gives.
            command += ["--contract"] if contract and not with_faults else []
            with (workdir / f"{name}.txt").open("wb") as transcript:
                process = subprocess.Popen(
                    command, stdout=transcript, stderr=subprocess.STDOUT, env=env
                )
            started.append((target, process))
        for target, process in started:
            if process.wait(timeout=timeout) != 0:
                raise EnvolError(
                    f"the demo in {target} failed (exit {process.returncode}); "
                    f"see {target.parent / (target.name + '.txt')}"
                )
    finally:
        for _, process in started:
            if process.poll() is None:
                # Interrupted: each demo's worker leaves with its demo (plugin.demo.worker).
                process.terminate()
                process.wait()
    fault_free, second = (StagedOutcome.read(target) for target, _ in started)
    return ComparedRuns(fault_free, second, compare_ledgers(fault_free.ledger, second.ledger))
