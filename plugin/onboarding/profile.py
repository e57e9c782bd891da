"""Profile completeness: the network is also the company directory.

The score is the weighted share of the checklist items present on the Mattermost user. A profile
is complete when every item with a weight is present. The nickname counts only when
``NICKNAME_WEIGHT`` is above zero (some companies want it, most do not).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Weights of the checklist items (they need not add up to 100; the score is a percentage).
FIRST_NAME_WEIGHT = 20
LAST_NAME_WEIGHT = 20
POSITION_WEIGHT = 25
PICTURE_WEIGHT = 35
NICKNAME_WEIGHT = 0

CHECKLIST: tuple[tuple[str, int], ...] = (
    ("first_name", FIRST_NAME_WEIGHT),
    ("last_name", LAST_NAME_WEIGHT),
    ("position", POSITION_WEIGHT),
    ("picture", PICTURE_WEIGHT),
    ("nickname", NICKNAME_WEIGHT),
)


def _present(user: Mapping[str, Any], item: str) -> bool:
    if item == "picture":
        # 0 means the user never uploaded one (Mattermost draws the default initials).
        return int(user.get("last_picture_update") or 0) > 0
    return bool(str(user.get(item) or "").strip())


@dataclass(frozen=True)
class ProfileScore:
    score: int
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


def profile_score(
    user: Mapping[str, Any], checklist: tuple[tuple[str, int], ...] = CHECKLIST
) -> ProfileScore:
    weighted = [(item, weight) for item, weight in checklist if weight > 0]
    total = sum(weight for _, weight in weighted)
    present = sum(weight for item, weight in weighted if _present(user, item))
    missing = tuple(item for item, _ in weighted if not _present(user, item))
    return ProfileScore(score=round(100 * present / total) if total else 100, missing=missing)
