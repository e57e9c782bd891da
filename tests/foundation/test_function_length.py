"""No function over 80 lines outside the tests, unless its docstring says why it is not split."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 80


def long_functions_without_a_reason() -> list[str]:
    found = []
    for folder in ("plugin", "webhooks", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > LIMIT and "split" not in (ast.get_docstring(node) or ""):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length})")
    return found


def test_every_function_over_80_lines_says_why_it_is_not_split() -> None:
    assert long_functions_without_a_reason() == []
