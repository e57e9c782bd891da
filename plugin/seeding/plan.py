"""The plan: compare what the content wants, what Envol recorded and what Mattermost shows.

``plan_changes`` is a pure function, so every case (new, changed, unchanged, deleted or edited
in Mattermost, with or without ``--repair``) is tested without a server.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from plugin.i18n import Message, Phrase
from plugin.seeding.desired import KIND_ORDER, DesiredObject
from plugin.seeding.wording import phrase, said

Action = Literal["create", "update", "unchanged", "drifted", "repair", "skipped", "orphaned"]
# Actions that write to Mattermost.
WRITING_ACTIONS: frozenset[str] = frozenset({"create", "update", "repair"})


@dataclass(frozen=True)
class Recorded:
    """What Envol recorded when it last applied an object (a ``SeededObject`` row)."""

    kind: str
    slug: str
    mattermost_id: str
    parent_id: str
    content_hash: str
    observed_hash: str
    applied: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.slug)


@dataclass(frozen=True)
class Observed:
    """What Mattermost shows now for a recorded object."""

    exists: bool
    observed_hash: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)
    archived: bool = False


@dataclass(frozen=True)
class Change:
    action: Action
    kind: str
    slug: str
    label: str
    reason: str = ""
    diff: tuple[str, ...] = ()
    desired: DesiredObject | None = None
    recorded: Recorded | None = None
    # For drift and repair: "deleted" (or archived) or "edited" in Mattermost.
    drift: Literal["deleted", "edited"] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.slug)

    @property
    def writes(self) -> bool:
        return self.action in WRITING_ACTIONS


@dataclass
class Plan:
    changes: list[Change]
    notices: list[str] = field(default_factory=list)
    # What the server would refuse (a file above its size limit…): nothing is applied then.
    blockers: list[str] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(change.action for change in self.changes)

    @property
    def to_apply(self) -> list[Change]:
        return [change for change in self.changes if change.writes]

    @property
    def drifted(self) -> list[Change]:
        return [change for change in self.changes if change.action == "drifted"]

    @property
    def nothing_to_do(self) -> bool:
        return not self.to_apply

    def summary(self, language: str = "en") -> str:
        """``3 to create, 38 unchanged`` in ``language``."""
        counts = self.counts()
        parts = [
            said(f"summary.{action}", n=counts[action]).localized(language)
            for action in (
                "create",
                "update",
                "repair",
                "unchanged",
                "drifted",
                "skipped",
                "orphaned",
            )
            if counts[action]
        ]
        return ", ".join(parts) or said("summary.empty").localized(language)


def short_diff(
    before: Mapping[str, Any], after: Mapping[str, Any], *, max_lines: int = 8, prefix: str = ""
) -> tuple[str, ...]:
    """A few lines saying what differs: ``field: 'old' → 'new'`` or a unified diff of texts."""
    lines: list[str] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        name = prefix + str(key)
        if old == new:
            continue
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            lines.extend(short_diff(old, new, max_lines=max_lines, prefix=name + "."))
        elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
            lines.extend(
                short_diff(
                    {f"[{i}]": v for i, v in enumerate(old)},
                    {f"[{i}]": v for i, v in enumerate(new)},
                    max_lines=max_lines,
                    prefix=name,
                )
            )
        elif (
            isinstance(old, str)
            and isinstance(new, str)
            and ("\n" in old or "\n" in new or len(old) + len(new) > 120)
        ):
            body = [
                line
                for line in difflib.unified_diff(
                    old.splitlines(), new.splitlines(), lineterm="", n=0
                )
                if not line.startswith(("---", "+++", "@@"))
            ]
            shown = body[:max_lines]
            if len(body) > max_lines:
                # Show both sides: what was there and what replaces it.
                removed = [line for line in body if line.startswith("-")]
                added = [line for line in body if line.startswith("+")]
                half = max_lines // 2
                shown = removed[: max(half, max_lines - len(added))][:max_lines]
                shown += added[: max_lines - len(shown)]
            lines.append(f"{name}:")
            lines.extend(f"  {line[:160]}" for line in shown)
            if len(body) > len(shown):
                more = said("plan.more_lines", n=len(body) - len(shown))
                lines.append(Phrase(_Indented(more)))
        else:
            lines.append(f"{name}: {_short(old)} → {_short(new)}")
    return tuple(lines)


@dataclass(frozen=True)
class _Indented:
    """A diff's closing line, indented like the lines it stands for, in any language."""

    said: Message

    def localized(self, language: str) -> str:
        return "  " + self.said.localized(language)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…'"


def _order(change: Change) -> tuple[int, int]:
    return (KIND_ORDER.index(change.kind) if change.kind in KIND_ORDER else len(KIND_ORDER), 0)


PARENT_KIND = {"channel": "team", "bookmark": "channel", "post": "channel", "reply": "post"}


def _hold_children_of_deleted(changes: list[Change]) -> list[Change]:
    """Nothing is written under a parent that is gone from Mattermost and not being restored:
    the write would fail, or land in an archived channel nobody sees."""
    gone = {
        change.key for change in changes if change.action == "drifted" and change.drift == "deleted"
    }
    held: list[Change] = []
    for change in changes:
        parent = change.desired.parent if change.desired is not None else None
        parent_key = (PARENT_KIND.get(change.kind, ""), parent or "")
        if change.writes and parent_key in gone:
            gone.add(change.key)
            change = Change(
                "skipped",
                change.kind,
                change.slug,
                change.label,
                reason=phrase(
                    "plan.parent_gone", parent_kind=said(f"parent.{parent_key[0]}"), parent=parent
                ),
                desired=change.desired,
                recorded=change.recorded,
            )
        held.append(change)
    return held


def plan_changes(
    desired: Iterable[DesiredObject],
    recorded: Mapping[tuple[str, str], Recorded],
    observed: Mapping[tuple[str, str], Observed],
    *,
    repair: bool = False,
    skipped_kinds: Mapping[str, str] | None = None,
) -> Plan:
    """Decide, for every object, what an apply would do (``_decide``); records no longer in the
    content are reported, never deleted."""
    skipped_kinds = skipped_kinds or {}
    changes: list[Change] = []
    wanted = set()
    for obj in desired:
        wanted.add(obj.key)
        if obj.kind in skipped_kinds:
            changes.append(
                Change(
                    "skipped",
                    obj.kind,
                    obj.slug,
                    obj.label,
                    reason=skipped_kinds[obj.kind],
                    desired=obj,
                )
            )
        else:
            changes.append(_decide(obj, recorded.get(obj.key), observed, repair=repair))
    changes = _hold_children_of_deleted(changes)
    for key, record in sorted(recorded.items()):
        if key not in wanted:
            changes.append(
                Change(
                    "orphaned",
                    record.kind,
                    record.slug,
                    phrase("label.recorded", kind=record.kind, slug=record.slug),
                    reason=phrase("plan.orphaned"),
                    recorded=record,
                )
            )
    notices = [
        reason
        for kind, reason in skipped_kinds.items()
        if any(c.kind == kind and c.action == "skipped" for c in changes)
    ]
    changes.sort(key=_order)  # stable: parents first, content order kept within a kind
    return Plan(changes=changes, notices=notices)


def _decide(
    obj: DesiredObject,
    record: Recorded | None,
    observed: Mapping[tuple[str, str], Observed],
    *,
    repair: bool,
) -> Change:
    """What an apply would do with one object of the content.

    * no record: create;
    * recorded but gone (or archived) in Mattermost: drift, or repair (re-create) if asked;
    * recorded but Mattermost shows something else than right after the last apply: drift
      (edited there), or repair (put the content back) if asked; never silently overwritten;
    * recorded, untouched in Mattermost, content changed: update (in place);
    * otherwise unchanged.
    """
    if record is None:
        return Change("create", obj.kind, obj.slug, obj.label, desired=obj)
    seen = observed.get(obj.key, Observed(exists=False))
    if not seen.exists:
        reason = phrase("plan.archived" if seen.archived else "plan.deleted", repair=repair)
        return Change(
            "repair" if repair else "drifted",
            obj.kind,
            obj.slug,
            obj.label,
            reason=reason,
            desired=obj,
            recorded=record,
            drift="deleted",
        )
    if seen.observed_hash != record.observed_hash:
        reason = phrase("plan.edited_repaired" if repair else "plan.edited")
        return Change(
            "repair" if repair else "drifted",
            obj.kind,
            obj.slug,
            obj.label,
            reason=reason,
            diff=short_diff(dict(record.applied.get("observed") or {}), dict(seen.fields)),
            desired=obj,
            recorded=record,
            drift="edited",
        )
    if obj.content_hash != record.content_hash:
        applied_fields = dict(record.applied.get("fields") or {})
        return Change(
            "update",
            obj.kind,
            obj.slug,
            obj.label,
            diff=short_diff(applied_fields, dict(obj.fields)),
            desired=obj,
            recorded=record,
        )
    return Change("unchanged", obj.kind, obj.slug, obj.label, desired=obj, recorded=record)
