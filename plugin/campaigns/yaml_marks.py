"""A YAML loader that remembers line numbers, so every plan error can name its file and line.

Mappings come back as ``MarkedDict`` (a ``dict``) with ``line`` (where the mapping starts) and
``key_lines`` (where each key is written). Duplicate keys are an error: YAML silently keeps the
last one, which would hide a copy-paste mistake in a plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from plugin.errors import ValidationFailed


class MarkedDict(dict[str, Any]):
    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _MarkedLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _MarkedLoader, node: yaml.MappingNode) -> MarkedDict:
    loader.flatten_mapping(node)
    mapping = MarkedDict()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_marked_yaml(text: str, path: Path) -> Any:
    """Parse ``text``; a syntax error becomes ``ValidationFailed`` with ``file:line``."""
    try:
        return yaml.load(text, Loader=_MarkedLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = error.problem or str(error)
        raise ValidationFailed(
            f"{path}:{line}: invalid YAML ({problem}); fix the file and try again.",
            [f"{path}:{line}: {problem}"],
        ) from None
