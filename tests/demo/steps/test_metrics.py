"""The demo step on its own: four simulated weeks, the HTML report and the weekly post."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from plugin import clock
from plugin.app import EnvolContext
from plugin.demo.run import DemoRun
from plugin.demo.steps.metrics import step_metrics


def test_demo_step_writes_the_report_and_posts_the_chart(
    envol_context: EnvolContext, tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    console = Console(record=True, width=160)
    run = DemoRun(
        context=envol_context,
        console=console,
        workdir=tmp_path,
        people=80,
        seed=3,
        faults=False,
        started=clock.now(),
    )
    try:
        step_metrics(run)
    finally:
        clock.set_source(frozen_clock)
    shown = console.export_text()
    page = tmp_path / "rapport-adoption.html"
    assert f"HTML report: {page.resolve()}" in shown.replace("\n", "")
    assert page.read_text(encoding="utf-8").count('<figure class="chart"') == 4
    charts = list(tmp_path.glob("rapport-*-W*.png"))
    assert len(charts) == 1 and charts[0].read_bytes().startswith(b"\x89PNG")
    assert "Trois choses à faire" in shown
    assert "weekly report posted in ~comite-lancement" in shown
