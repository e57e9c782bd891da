"""``python -m bench [--quick] [NAME ...]``: run the benchmarks, print a table, write JSON.

``python -m bench --readme`` runs nothing: it rewrites the README's table from
``bench/results.json``. Running some benchmarks only replaces their rows in the JSON; the rows
of the others stay, each with the date and size of the run that measured it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import bench
from bench import Figure

# The benchmarks, in the order of the launch. A ``bench/bench_*.py`` module not listed here runs
# after these (sorted by name): adding a benchmark is adding its module.
ORDER: list[str] = [
    "bench_cli_startup",  # envol --help vs python -c "import click"
    "bench_adapter_batching",  # team and channel adds: requests vs the lower bound
    "bench_seed",  # first apply vs the minimum, and a no-op re-apply
    "bench_roster_import",  # 100,000 rows vs a plain executemany of the same rows
    "bench_smtp",  # a campaign's e-mails vs a raw smtplib loop
    "bench_wave_invitations",  # a wave: requests vs the lower bound; the pacer at 10 req/s
    "bench_metrics_requests",  # a snapshot: requests vs the minimum
    "bench_metrics_snapshot",  # a snapshot's time and memory: roster of 100,000 vs 1,000
    "bench_slash_command",  # /envol under gunicorn vs a bare Flask endpoint
    "bench_worker_memory",  # a worker's peak memory: roster of 100,000 vs 1,000
    "bench_worker_kills",  # SIGKILL mid-wave and mid-campaign: nothing lost, nothing doubled
    "bench_demo",  # envol demo: wall time for 1,500 people; time per person, 3,000 vs 300
]

RESULTS = Path(__file__).with_name("results.json")
README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- bench-table:begin -->", "<!-- bench-table:end -->"


def benchmarks() -> list[str]:
    """Every ``bench_*`` module: those of ``ORDER`` first, in that order, then the others."""
    found = {
        info.name for info in pkgutil.iter_modules(bench.__path__) if info.name.startswith("bench_")
    }
    return [name for name in ORDER if name in found] + sorted(found - set(ORDER))


def _machine() -> str:
    cores = os.cpu_count() or 0
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"


def _number(value: float, unit: str) -> str:
    text = f"{value:,.0f}" if abs(value) >= 1000 or value == int(value) else f"{value:,.3g}"
    return f"{text} {unit}"


def row(figure: dict[str, Any]) -> list[str]:
    """The printed cells of one figure: benchmark, what, measured, baseline, ratio, goal."""
    unit = figure["unit"]
    if figure.get("count"):
        measured = f"{figure.get('count_name', 'duplicates')} = {figure['measured']:,.0f}"
        if figure.get("detail"):
            measured += f" ({figure['detail']})"
        if figure.get("computed"):  # the bound the guarantee documents
            baseline = f"≤ {figure['baseline']:,.0f} ({figure['baseline_what']}; computed bound)"
        else:
            baseline = f"({figure['baseline_what']})"
        ratio = "—"
    else:
        kind = "computed bound" if figure.get("computed") else "measured"
        measured = _number(figure["measured"], unit)
        baseline = f"{_number(figure['baseline'], unit)} ({figure['baseline_what']}; {kind})"
        ratio = f"{figure['ratio']:.2f}" if figure["ratio"] is not None else "—"
    goal = figure.get("goal", "")
    met = figure.get("met")
    if goal and met is not None:
        goal = f"{goal} {'✓' if met else '✗'}"
    return [figure["benchmark"], figure["what"], measured, baseline, ratio, goal]


COLUMNS = ("benchmark", "what", "measured", "baseline", "ratio", "goal")


def _as_dict(figure: Figure, stamp: dict[str, Any]) -> dict[str, Any]:
    return {**figure.as_dict(), "goal": figure.goal, **stamp}


def merge(
    old: list[dict[str, Any]], new: list[dict[str, Any]], ran: set[str]
) -> list[dict[str, Any]]:
    """The figures of the benchmarks that ran replace theirs; the others' stay."""
    order = {name.removeprefix("bench_"): i for i, name in enumerate(benchmarks())}
    kept = [f for f in old if f.get("module") not in ran]
    return sorted(kept + new, key=lambda f: order.get(str(f.get("module", "")), len(order)))


def readme_table(results: dict[str, Any], kept_rows: list[str] | None = None) -> str:
    """The table of ``results``; ``kept_rows`` (lines of an older table) stay for the
    benchmarks that ``results`` does not hold, in the benchmarks' order."""
    lines = [
        f"Machine: {results.get('machine', '?')}. Each row says when it was measured and at "
        "which size (`quick` = `python -m bench --quick`). A baseline is *measured* in the same "
        'run, or a *computed bound* (a formula); a "never twice" figure is a count of duplicates, '
        "against 0 or, where the guarantee allows copies, against the bound it documents (a "
        "*computed bound*).",
        "",
        "| " + " | ".join([*COLUMNS, "run"]) + " |",
        "|" + "---|" * (len(COLUMNS) + 1),
    ]
    rows: list[tuple[str, str]] = []
    for figure in results["figures"]:
        cells = row(figure)
        run = f"{figure.get('date', '?')[:10]}, {'quick' if figure.get('quick') else 'full'}"
        line = "| " + " | ".join(c.replace("|", "\\|") for c in [*cells, run]) + " |"
        rows.append((str(figure["benchmark"]), line))
    measured = {benchmark for benchmark, _ in rows}
    for line in kept_rows or []:
        benchmark = _first_cell(line)
        if benchmark not in measured:
            rows.append((benchmark, line))
    order = {name.removeprefix("bench_"): i for i, name in enumerate(benchmarks())}
    rows.sort(key=lambda r: order.get(r[0], len(order)))  # stable: each one's rows in order
    return "\n".join(lines + [line for _, line in rows])


def _first_cell(line: str) -> str:
    return line.strip().strip("|").split("|", 1)[0].strip()


def _table_rows(block: str) -> list[str]:
    """The figure rows of a table written by ``readme_table`` (no header, no rule)."""
    rows = [line for line in block.splitlines() if line.startswith("| ")]
    return [line for line in rows if _first_cell(line) != COLUMNS[0]]


def write_readme(results: dict[str, Any], readme: Path = README) -> None:
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme}: no {BEGIN} … {END} markers around the benchmark table")
    head, rest = text.split(BEGIN, 1)
    block, tail = rest.split(END, 1)
    # The JSON may hold some benchmarks only (it is not committed): the others' rows stay.
    table = readme_table(results, _table_rows(block))
    readme.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help="run only these benchmarks (e.g. bench_smtp)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--readme", action="store_true", help="rewrite the README table from the JSON; run nothing"
    )
    args = parser.parse_args(argv)
    console = Console()
    old: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.readme:
        write_readme(old)
        console.print(f"rewrote the benchmark table of {README}")
        return 0
    names = [n if n.startswith("bench_") else f"bench_{n}" for n in args.names]
    unknown = set(names) - set(benchmarks())
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    stamp = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "quick": args.quick}
    new: list[dict[str, Any]] = []
    ran: set[str] = set()
    for name in benchmarks():
        if names and name not in names:
            continue
        console.print(f"[bold]bench {name}[/] …")
        begin = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        module_name = name.removeprefix("bench_")
        new += [{**_as_dict(f, stamp), "module": module_name} for f in module.run(quick=args.quick)]
        ran.add(module_name)
        console.print(f"  {time.perf_counter() - begin:.1f} s")
    table = Table(title="Envol benchmarks (ratio = measured / baseline)")
    for column in COLUMNS:
        table.add_column(column, justify="right" if column in {"measured", "ratio"} else "left")
    for figure in new:
        table.add_row(*row(figure))
    console.print(table)
    figures = merge(old.get("figures", []), new, ran)
    results = {**stamp, "machine": _machine(), "figures": figures}
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    console.print(f"wrote {args.out} (`python -m bench --readme` puts it in the README)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
