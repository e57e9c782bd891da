"""Texts the cohorts keep in the database, worded when they are read: a planned cohort's
description and why a person is in a cohort.

The plan is written once and read by people of either language for weeks, so a description is
stored as its catalogue key and values (``plan.what.wave {"number": 2, "total": 3}``), not as
the planner's words. Members' reasons are a closed set of codes (``pilot: drawn``, ``plan``…),
the same as rows written before. Anything else — an operator's own reason, a description
written before this — is shown as it was typed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2.exceptions import UndefinedError

from plugin.i18n import load_catalogue
from plugin.typography import percent

_CATALOGUE = Path(__file__).with_name("messages.yaml")
_DESCRIPTIONS = frozenset({"plan.what.managers_champions", "plan.what.pilot", "plan.what.wave"})
# The reasons ``apply_plan`` and ``add_to_cohort`` store, and their wording.
REASON_MUST_INCLUDE = "pilot: must include"
REASON_DRAWN = "pilot: drawn"
REASON_PLAN = "plan"
REASON_MANUAL = "manual"
_REASONS = {
    REASON_MUST_INCLUDE: "member.reason.must_include",
    REASON_DRAWN: "member.reason.drawn",
    REASON_PLAN: "member.reason.plan",
    REASON_MANUAL: "member.reason.manual",
}


def stored_description(key: str, /, **values: Any) -> str:
    """What ``Cohort.description`` holds for ``key``: the key, then its values as JSON."""
    if key not in _DESCRIPTIONS:
        raise KeyError(f"{_CATALOGUE.name}: no cohort description {key!r}")
    return f"{key} {json.dumps(values, sort_keys=True)}"


def worded_description(stored: str, language: str) -> str:
    """A cohort's description in ``language``; a text that is not a stored key, as it is."""
    key, _, rest = stored.partition(" ")
    if key not in _DESCRIPTIONS:
        return stored
    try:
        values = json.loads(rest or "{}")
    except ValueError:
        return stored
    if not isinstance(values, dict):
        return stored
    if isinstance(values.get("percent"), int | float):
        # Stored as the planner typed it (10 for 10%): written as the reader's language does.
        values["percent"] = percent(values["percent"] / 100, language, digits=2)
    try:
        return load_catalogue(_CATALOGUE).render(key, language, **values)
    except UndefinedError:  # a value missing from a hand-edited row: the row as it is
        return stored


def worded_reason(stored: str, language: str) -> str:
    """Why a person is in a cohort, in ``language``; an operator's own reason as typed."""
    key = _REASONS.get(stored)
    return stored if key is None else load_catalogue(_CATALOGUE).render(key, language)
