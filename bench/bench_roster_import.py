"""Roster import: 100,000 rows, time against a plain CSV parse of the same file, and peak
memory (tracemalloc) against roster size: flat memory means the peak grows far slower than
the roster."""

from __future__ import annotations

import csv
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench import Figure
from plugin.db import make_engine, make_session_factory, transaction
from plugin.demo.fake_roster import write_roster_csv
from plugin.models import metadata
from plugin.people.service import import_roster

NAME = "roster_import"


def _plain_parse(path: Path) -> float:
    begin = time.perf_counter()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for _row in csv.reader(handle, delimiter=";"):
            pass
    return time.perf_counter() - begin


def _import(path: Path, workdir: Path, label: str) -> tuple[float, float]:
    """Seconds for a first import and for a re-import of the same file (all unchanged)."""
    engine = make_engine(f"sqlite:///{workdir / f'{label}.db'}")
    metadata.create_all(engine)
    sessions = make_session_factory(engine)
    timings = []
    for _ in range(2):
        begin = time.perf_counter()
        with transaction(sessions) as session:
            import_roster(session, path, actor="bench")
        timings.append(time.perf_counter() - begin)
    engine.dispose()
    return timings[0], timings[1]


def _peak_bytes(path: Path, workdir: Path, label: str) -> int:
    engine = make_engine(f"sqlite:///{workdir / f'{label}.db'}")
    metadata.create_all(engine)
    sessions = make_session_factory(engine)
    tracemalloc.start()
    try:
        with transaction(sessions) as session:
            import_roster(session, path, actor="bench")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        engine.dispose()


def run(quick: bool) -> list[Figure]:
    rows = 10_000 if quick else 100_000
    small = rows // 10
    with tempfile.TemporaryDirectory(prefix="envol-bench-roster-") as tmp:
        workdir = Path(tmp)
        big_file = write_roster_csv(workdir / "big.csv", rows, seed=1)
        small_file = write_roster_csv(workdir / "small.csv", small, seed=1)
        parse = _plain_parse(big_file)
        first, again = _import(big_file, workdir, "timing")
        peak_small = _peak_bytes(small_file, workdir, "memory-small")
        peak_big = _peak_bytes(big_file, workdir, "memory-big")
    return [
        Figure(NAME, f"import {rows:,} rows (new roster)", first, parse,
               "plain csv.reader parse of the same file", "s"),
        Figure(NAME, f"re-import {rows:,} rows (all unchanged)", again, parse,
               "plain csv.reader parse of the same file", "s"),
        Figure(NAME, f"peak memory importing {rows:,} rows", peak_big / 2**20,
               peak_small / 2**20, f"peak importing {small:,} rows (10x fewer)", "MiB"),
    ]  # fmt: skip
