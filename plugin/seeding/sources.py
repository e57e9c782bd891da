"""Reading seed files while keeping track of where every value came from.

Every error an admin sees names the file and the line, so the YAML is composed into PyYAML's
node tree first (nodes carry their marks) and a map from a value's path, e.g.
``("channels", 2, "purpose", "fr")``, to its line is kept beside the plain data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in the content: where, what, and what to do about it."""

    file: str
    line: int | None
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}" + (f" — {self.hint}" if self.hint else "")


@dataclass(frozen=True)
class TextLocation:
    """Where a text starts: templates add their own line numbers to ``line``."""

    file: str
    line: int | None


@dataclass
class LineMap:
    """Lines of the values of one YAML document, by path; ``offset`` shifts them all (front
    matter starts after the ``---`` line of a Markdown file)."""

    file: str
    lines: dict[Path_, int] = field(default_factory=dict)
    # Paths of block scalars (``|`` or ``>``): their text starts on the next line.
    block_scalars: set[Path_] = field(default_factory=set)
    offset: int = 0

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its closest known parent."""
        key = tuple(path)
        while True:
            if key in self.lines:
                return self.lines[key] + self.offset
            if not key:
                return None
            key = key[:-1]

    def text_at(self, path: Sequence[str | int]) -> TextLocation:
        line = self.line_of(path)
        if line is not None and tuple(path) in self.block_scalars:
            line += 1
        return TextLocation(self.file, line)

    def problem(self, path: Sequence[str | int], message: str, hint: str = "") -> Problem:
        return Problem(self.file, self.line_of(path), message, hint)


class DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line


def _walk(node: yaml.Node, path: Path_, line_map: LineMap) -> None:
    line_map.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        line_map.block_scalars.add(path)
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                # PyYAML keeps the last value silently; a repeated key is nearly always a
                # copy-paste mistake that would hide half of what the admin wrote.
                raise DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
            line_map.lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), line_map)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), line_map)


def load_yaml(text: str, file: str, *, offset: int = 0) -> tuple[Any, LineMap, list[Problem]]:
    """Parse one YAML document: ``(data, line map, problems)``. On a syntax error the data is
    ``None`` and the problem says where the parser stopped."""
    line_map = LineMap(file=file, offset=offset)
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, line_map, []
            _walk(node, (), line_map)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except DuplicateKey as error:
        return (
            None,
            line_map,
            [
                Problem(
                    file,
                    error.line + offset,
                    f"key '{error.key}' appears twice",
                    "keep only one of them",
                )
            ],
        )
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 + offset if mark else None
        what = error.problem or str(error)
        start = error.context_mark
        if error.context and start is not None and mark is not None and start.line != mark.line:
            # e.g. an unclosed [ is only noticed lines later: say where it was opened.
            what += f" ({error.context} started at line {start.line + 1 + offset})"
        return (
            None,
            line_map,
            [
                Problem(
                    file,
                    line,
                    f"invalid YAML: {what}",
                    "check the indentation, colons and quotes around this line",
                )
            ],
        )
    except yaml.YAMLError as error:
        return None, line_map, [Problem(file, None, f"invalid YAML: {error}", "fix the syntax")]
    return data, line_map, []


def pydantic_problems(
    error: ValidationError, line_map: LineMap, prefix: Path_ = ()
) -> list[Problem]:
    """Turn pydantic's errors into problems with the line of each offending value."""
    problems = []
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and "[" in part))
        path = (*prefix, *loc)
        # The line already says which item; name the field from the last list index on.
        tail = loc
        for index in range(len(loc) - 1, -1, -1):
            if isinstance(loc[index], int):
                tail = loc[index + 1 :]
                break
        field_name = ".".join(str(part) for part in tail) or "this item"
        kind = item["type"]
        if kind == "extra_forbidden":
            message = f"unknown key '{loc[-1]}'"
            hint = "check its spelling, or remove it (see seed_content/README.md for the keys)"
        elif kind == "missing":
            message = f"'{field_name}' is missing"
            hint = "add it"
        else:
            message = f"{field_name}: {item['msg']}"
            hint = ""
        problems.append(line_map.problem(path, message, hint))
    return problems


def relative_name(path: Path, root: Path) -> str:
    """A file name as the admin sees it, relative to the content folder."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.message))
