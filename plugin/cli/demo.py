"""``envol demo``: the whole launch on the sandbox, on the embedded defaults."""

from __future__ import annotations

from pathlib import Path

import click

from plugin import clock
from plugin.cli.base import console
from plugin.demo.runner import DemoRun, run_demo
from plugin.demo.stage import DemoStage


@click.command("demo")
@click.option("--people", default=1500, show_default=True, type=click.IntRange(20, 100_000))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--faults", is_flag=True, help="Inject 5xx, 429s, latency and dropped connections.")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".demo"),
    show_default=True,
    help="Where the demo keeps its database, broker and outputs (reset at each run).",
)
def demo(people: int, seed: int, faults: bool, workdir: Path) -> None:
    """Walk a whole launch on the local Mattermost sandbox."""
    import shutil

    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    stage = DemoStage.start(workdir.resolve(), seed=seed, faults=faults)
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
            state={"sandbox": stage.sandbox, "mail": stage.mail},
        )
        elapsed = run_demo(run)
    finally:
        stage.stop()
    console.print(f"\n[bold green]demo finished in {elapsed:.1f}s[/]; outputs in {workdir}/")


def register(root: click.Group) -> None:
    root.add_command(demo)
