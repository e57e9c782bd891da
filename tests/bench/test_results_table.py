"""The benchmark table: "never twice" figures print as counts, results merge per benchmark, the
README table is regenerated between its markers (issue 18)."""

from __future__ import annotations

from pathlib import Path

from bench import Figure, bounded_duplicates, duplicates
from bench.__main__ import BEGIN, END, benchmarks, merge, row, write_readme


def _as_json(figure: Figure, module: str) -> dict[str, object]:
    return {**figure.as_dict(), "goal": figure.goal, "module": module, "date": "2026-12-04"}


def test_a_duplicate_prints_as_a_count_not_a_ratio_that_rounds_to_one() -> None:
    figure = duplicates("worker_kills", "campaign e-mails: copies", 501, 500, "e-mails")

    cells = row(_as_json(figure, "worker_kills"))

    assert cells[2] == "duplicates = 1"
    assert cells[4] == "—"
    assert figure.met is False
    assert "1.00" not in " ".join(cells)


def test_a_goal_and_a_computed_bound_are_printed() -> None:
    figure = Figure("w", "wall time", 1.2, 1.0, "requests ÷ 10", "s", computed=True, goal_max=1.15)

    cells = row(_as_json(figure, "w"))

    assert "computed bound" in cells[3]
    assert cells[5] == "≤ 1.15× ✗"


def test_running_some_benchmarks_keeps_the_rows_of_the_others() -> None:
    old = [
        _as_json(Figure("smtp", "old smtp", 1, 1, "b", "s"), "smtp"),
        _as_json(Figure("demo", "demo", 1, 1, "b", "s"), "demo"),
    ]
    new = [_as_json(Figure("smtp", "new smtp", 2, 1, "b", "s"), "smtp")]

    merged = merge(old, new, {"smtp"})

    assert sorted(f["what"] for f in merged) == ["demo", "new smtp"]


def test_every_bench_module_is_found_and_the_readme_table_is_rewritten(tmp_path: Path) -> None:
    assert {"bench_cli_startup", "bench_roster_import", "bench_smtp"} <= set(benchmarks())
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{BEGIN}\nstale\n{END}\n\n## next\n", encoding="utf-8")
    figure = duplicates("worker_kills", "welcome DMs", 300, 300, "DMs")

    write_readme({"machine": "m", "figures": [_as_json(figure, "worker_kills")]}, readme)

    text = readme.read_text(encoding="utf-8")
    assert "stale" not in text and "duplicates = 0" in text and text.endswith("## next\n")


def test_copies_within_a_documented_bound_print_as_a_count_against_that_bound() -> None:
    within = bounded_duplicates("worker_kills", "campaign: copies", 502, 500, "e-mails", 3, "1 × 3")
    beyond = bounded_duplicates("worker_kills", "campaign: copies", 504, 500, "e-mails", 3, "1 × 3")

    cells = row(_as_json(within, "worker_kills"))

    assert cells[2] == "duplicates = 2 (502 copies of 500 distinct)"
    assert cells[3] == "≤ 3 (1 × 3; computed bound)"
    assert cells[4] == "—"
    assert cells[5] == "≤ 3 ✓"
    assert row(_as_json(beyond, "worker_kills"))[5] == "≤ 3 ✗"


def test_the_readme_keeps_the_rows_of_benchmarks_the_results_do_not_hold(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    old = {
        "figures": [
            _as_json(Figure("cli_startup", "cli", 1, 1, "b", "s"), "cli_startup"),
            _as_json(Figure("smtp", "old smtp", 1, 1, "b", "s"), "smtp"),
            _as_json(Figure("demo", "demo", 1, 1, "b", "s"), "demo"),
        ]
    }
    readme.write_text(f"# x\n\n{BEGIN}\n{END}\n", encoding="utf-8")
    write_readme(old, readme)

    new = [_as_json(Figure("smtp", "new smtp", 2, 1, "b", "s"), "smtp")]
    write_readme({"machine": "m", "figures": new}, readme)

    text = readme.read_text(encoding="utf-8")
    rows = [line.split(" | ")[1] for line in text.splitlines() if line.startswith("| ")]
    assert rows == ["what", "cli", "new smtp", "demo"]
