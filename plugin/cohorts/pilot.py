"""Choosing the pilot: a share of the population a launch committee can defend.

Stratified by department × site so every part of the company is represented; volunteers,
managers and champions are always in; the remaining seats go to strata by the largest-remainder
method on their fair share, then to people drawn at random, deterministically for a seed.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from plugin.i18n import Message, messages_of
from plugin.people.models import PersonRole

# Warnings are worded in the reader's language (the console's person, the CLI's operator).
said = messages_of(Path(__file__).with_name("messages.yaml"))

StratumKey = tuple[str, str]


@dataclass(frozen=True)
class Candidate:
    id: int
    email: str
    department: str
    site: str
    role: PersonRole
    volunteer: bool

    @property
    def must_include(self) -> str:
        """Why this person is always in the pilot ("" when they are not)."""
        if self.role == PersonRole.MANAGER:
            return "manager"
        if self.role == PersonRole.CHAMPION:
            return "champion"
        if self.volunteer:
            return "volunteer"
        return ""


@dataclass
class Stratum:
    department: str
    site: str
    population: int = 0
    fair_share: float = 0.0
    included: dict[str, int] = field(default_factory=dict)
    drawn: int = 0
    selected_ids: list[int] = field(default_factory=list)

    @property
    def selected(self) -> int:
        return len(self.selected_ids)

    @property
    def why(self) -> str:
        parts = [f"{count} {reason}{'s' if count > 1 else ''}" for reason, count in
                 sorted(self.included.items())]  # fmt: skip
        if self.drawn:
            parts.append(f"{self.drawn} drawn at random")
        text = ", ".join(parts) or "none: no seat left after the must-includes"
        return f"{text} (fair share {self.fair_share:.1f})"


@dataclass
class PilotSelection:
    percent: float
    seed: int
    population: int
    target: int
    strata: list[Stratum]
    warnings: list[Message] = field(default_factory=list)

    @property
    def selected_ids(self) -> list[int]:
        return sorted(i for stratum in self.strata for i in stratum.selected_ids)

    @property
    def departments(self) -> set[str]:
        return {s.department for s in self.strata if s.selected}

    @property
    def sites(self) -> set[str]:
        return {s.site for s in self.strata if s.selected}


def largest_remainder(
    seats: int, weights: Mapping[StratumKey, float], caps: Mapping[StratumKey, int]
) -> dict[StratumKey, int]:
    """Share ``seats`` in proportion to ``weights`` (Hamilton's method), never above ``caps``.

    Seats a capped key cannot take are shared again among the others. Ties in remainders are
    broken by key order, so the result is deterministic.
    """
    allocation = {key: 0 for key in weights}
    remaining = seats
    while remaining > 0:
        open_keys = sorted(k for k in weights if allocation[k] < caps[k])
        if not open_keys:
            break
        total = sum(weights[k] for k in open_keys)
        shares = {
            k: remaining * (weights[k] / total if total > 0 else 1 / len(open_keys))
            for k in open_keys
        }
        given = 0
        for k in open_keys:
            take = min(math.floor(shares[k]), caps[k] - allocation[k])
            allocation[k] += take
            given += take
        by_remainder = sorted(open_keys, key=lambda k: (-(shares[k] - math.floor(shares[k])), k))
        for k in by_remainder:
            if given >= remaining:
                break
            if allocation[k] < caps[k]:
                allocation[k] += 1
                given += 1
        if given == 0:
            break
        remaining -= given
    return allocation


def select_pilot(candidates: Iterable[Candidate], percent: float, seed: int) -> PilotSelection:
    """The pilot among ``candidates`` (active people), explained stratum by stratum."""
    groups: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        groups[(candidate.department, candidate.site)].append(candidate)
    population = sum(len(members) for members in groups.values())
    target = min(population, max(1, round(population * percent / 100))) if population else 0
    selection = PilotSelection(percent, seed, population, target, strata=[])
    strata: dict[tuple[str, str], Stratum] = {}
    pools: dict[tuple[str, str], list[Candidate]] = {}
    for key in sorted(groups):
        members = groups[key]
        stratum = Stratum(key[0], key[1], population=len(members))
        stratum.fair_share = target * len(members) / population
        for member in members:
            reason = member.must_include
            if reason:
                stratum.included[reason] = stratum.included.get(reason, 0) + 1
                stratum.selected_ids.append(member.id)
        # Sorted by e-mail: the draw must not depend on database ids or row order.
        pools[key] = sorted((m for m in members if not m.must_include), key=lambda m: m.email)
        strata[key] = stratum
    forced = sum(s.selected for s in strata.values())
    seats = max(0, target - forced)
    if forced > target:
        selection.warnings.append(
            said("warning.forced_exceed_target", forced=forced, target=target)
        )
    # Every part of the company is represented: a stratum with nobody yet gets one seat first,
    # the biggest strata first while seats last.
    guaranteed: dict[tuple[str, str], int] = dict.fromkeys(strata, 0)
    for key in sorted(strata, key=lambda k: (-strata[k].population, k)):
        if seats - sum(guaranteed.values()) <= 0:
            break
        if strata[key].selected == 0 and pools[key]:
            guaranteed[key] = 1
    free = seats - sum(guaranteed.values())
    weights = {
        key: max(0.0, s.fair_share - s.selected - guaranteed[key]) for key, s in strata.items()
    }
    caps = {key: len(pools[key]) - guaranteed[key] for key in strata}
    extra = largest_remainder(free, weights, caps)
    for key, stratum in strata.items():
        draw = guaranteed[key] + extra[key]
        if draw:
            rng = random.Random(f"envol-pilot:{seed}:{key[0]}:{key[1]}")
            chosen = rng.sample(pools[key], draw)
            stratum.selected_ids.extend(member.id for member in chosen)
            stratum.drawn = draw
    selection.strata = list(strata.values())
    missing = [f"{s.department} × {s.site}" for s in selection.strata if not s.selected]
    if missing:
        named = ", ".join(missing[:5]) + ("…" if len(missing) > 5 else "")
        selection.warnings.append(said("warning.strata_missing", count=len(missing), strata=named))
    return selection
