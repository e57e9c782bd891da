"""Roster import, new and unchanged, against a plain ``executemany`` of the same rows into the
same database, both measured here; and peak memory (tracemalloc) against roster size.

The baselines are what a throwaway script would do, with none of the import's checks: read the
file with ``csv.reader`` and ``executemany`` an INSERT of every row into an empty ``person``
table (new roster), or SELECT the same rows back by e-mail, 2,000 a query (unchanged roster).
They run on the raw DB-API connection, in the same database as the import (PostgreSQL when the
server answers, else SQLite), and are rolled back.
"""

from __future__ import annotations

import csv
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bench import Figure, throwaway_database
from plugin import clock
from plugin.db import make_engine, make_session_factory, transaction
from plugin.demo.fake_roster import write_roster_csv
from plugin.models import metadata
from plugin.people.models import Language, PersonRole
from plugin.people.service import import_roster

NAME = "roster_import"
CHUNK = 2000
COLUMNS = (
    "email", "first_name", "last_name", "department", "site", "role", "language", "volunteer",
    "status", "created_at", "updated_at",
)  # fmt: skip


def _rows(path: Path) -> Iterator[tuple[Any, ...]]:
    """The file's rows as a plain script would insert them: cells by position, no checks."""
    now = clock.now()
    roles, languages = {r.value for r in PersonRole}, {lang.value for lang in Language}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        next(reader)
        for email, first, last, department, site, _manager, role, language, volunteer in reader:
            yield (
                email.strip().lower(), first, last, department, site,
                role if role in roles else "employee",
                language if language in languages else "fr",
                volunteer == "oui", "active", now, now,
            )  # fmt: skip


def _placeholder(engine: Engine) -> str:
    return "?" if engine.dialect.name == "sqlite" else "%s"


def _plain_insert(engine: Engine, path: Path) -> float:
    mark = _placeholder(engine)
    sql = f"INSERT INTO person ({', '.join(COLUMNS)}) VALUES ({', '.join([mark] * len(COLUMNS))})"
    connection = engine.raw_connection()
    try:
        begin = time.perf_counter()
        cursor = connection.cursor()
        rows = _rows(path)
        while chunk := list(islice(rows, CHUNK)):
            cursor.executemany(sql, chunk)
        elapsed = time.perf_counter() - begin
        connection.rollback()
        return elapsed
    finally:
        connection.close()


def _plain_select(engine: Engine, path: Path) -> float:
    mark = _placeholder(engine)
    connection = engine.raw_connection()
    try:
        begin = time.perf_counter()
        cursor = connection.cursor()
        rows = _rows(path)
        while chunk := list(islice(rows, CHUNK)):
            marks = ", ".join([mark] * len(chunk))
            cursor.execute(
                f"SELECT id, {', '.join(COLUMNS)} FROM person WHERE email IN ({marks})",
                [row[0] for row in chunk],
            )
            cursor.fetchall()
        elapsed = time.perf_counter() - begin
        connection.rollback()
        return elapsed
    finally:
        connection.close()


def _timings(url: str, path: Path) -> tuple[float, float, float, float]:
    """(plain insert, import new, plain select, re-import unchanged), in that order."""
    engine = make_engine(url)
    metadata.create_all(engine)
    sessions = make_session_factory(engine)
    try:
        insert = _plain_insert(engine, path)
        begin = time.perf_counter()
        with transaction(sessions) as session:
            import_roster(session, path, actor="bench")
        first = time.perf_counter() - begin
        select = _plain_select(engine, path)
        begin = time.perf_counter()
        with transaction(sessions) as session:
            report = import_roster(session, path, actor="bench")
        again = time.perf_counter() - begin
        assert report.unchanged == report.valid, report.counts()
        return insert, first, select, again
    finally:
        engine.dispose()


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
    rows = 20_000 if quick else 100_000
    small = rows // 10
    with tempfile.TemporaryDirectory(prefix="envol-bench-roster-") as tmp:
        workdir = Path(tmp)
        big_file = write_roster_csv(workdir / "big.csv", rows, seed=1)
        small_file = write_roster_csv(workdir / "small.csv", small, seed=1)
        with throwaway_database(workdir) as (url, database):
            insert, first, select, again = _timings(url, big_file)
        peak_small = _peak_bytes(small_file, workdir, "memory-small")
        peak_big = _peak_bytes(big_file, workdir, "memory-big")
    return [
        Figure(NAME, f"import {rows:,} rows (new roster), {database}", first, insert,
               "csv.reader + plain executemany INSERT of the same rows", "s", goal_max=2),
        Figure(NAME, f"re-import {rows:,} rows (all unchanged), {database}", again, select,
               "csv.reader + plain SELECT of the same rows by e-mail", "s", goal_max=2),
        Figure(NAME, f"peak memory importing {rows:,} rows (SQLite)", peak_big / 2**20,
               peak_small / 2**20, f"peak importing {small:,} rows (10x fewer)", "MiB"),
    ]  # fmt: skip
