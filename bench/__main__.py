"""``python -m bench [--quick] [NAME ...]``: run the benchmarks, print a table, write JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import Figure

# The benchmarks, in the order of the launch. Add a module name here when you add one.
BENCHMARKS: list[str] = [
    "bench_adapter_batching",  # team and channel adds: requests vs the lower bound
    "bench_seed",  # first apply vs the minimum, and a no-op re-apply
    "bench_roster_import",  # 100,000 rows: time and memory vs a plain CSV parse
    "bench_smtp",  # e-mail: connection reuse vs one connection per message
    "bench_wave_invitations",  # a wave: requests vs the lower bound; strategy 3 vs 2
    "bench_metrics_requests",  # a snapshot: requests vs the minimum
    "bench_slash_command",  # the slash command endpoint vs a bare Flask endpoint
    "bench_worker_memory",  # a worker's peak memory: roster of 100,000 vs 1,000
    "bench_worker_kills",  # SIGKILL mid-wave and mid-campaign: nothing lost, nothing doubled
    "bench_demo",  # envol demo: wall time for 1,500 people; time per person, 3,000 vs 300
]


def _machine() -> str:
    cores = os.cpu_count() or 0
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help="run only these benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args(argv)
    console = Console()
    figures: list[Figure] = []
    for name in BENCHMARKS:
        if args.names and name not in args.names:
            continue
        console.print(f"[bold]bench {name}[/] …")
        module = importlib.import_module(f"bench.{name}")
        figures += module.run(quick=args.quick)
    table = Table(title="Envol benchmarks (ratio = measured / baseline, same run)")
    for column in ("benchmark", "what", "measured", "baseline", "ratio"):
        table.add_column(column, justify="right" if column in {"measured", "ratio"} else "left")
    for f in figures:
        table.add_row(
            f.benchmark,
            f.what,
            f"{f.measured:,.3g} {f.unit}",
            f"{f.baseline:,.3g} {f.unit} ({f.baseline_what})",
            f"{f.ratio:.2f}",
        )
    console.print(table)
    args.out.write_text(
        json.dumps(
            {
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": _machine(),
                "quick": args.quick,
                "figures": [f.as_dict() for f in figures],
            },
            indent=2,
        )
    )
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
