"""Exactly what the population model did: the ground truth for tests, metrics and reports.

Events name people by e-mail and posts by a stable key (``<channel label>#<n>``, the n-th post
the model saw in that channel), never by sandbox ids (random unless the sandbox is seeded), so
two runs with the same seed produce equal logs. Sandbox ids are kept where useful, out of the
comparison.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Member:
    email: str
    department: str
    role: str
    language: str
    volunteer: bool
    profile: str  # the behaviour profile's name: fast, average, lagging …


@dataclass(frozen=True)
class Acceptance:
    at: dt.datetime
    email: str
    # "invite_link" (Envol's e-mail with the team's link), "mattermost_email" (Mattermost's
    # e-mail invitation) or "added" (already a member: the first visit counts as joining).
    via: str
    user_id: str = field(default="", compare=False)


@dataclass(frozen=True)
class ProfileChange:
    at: dt.datetime
    email: str
    fields: tuple[str, ...]  # among "position", "nickname", "picture"


@dataclass(frozen=True)
class Message:
    at: dt.datetime
    email: str
    channel: str  # channel name (team channels)
    kind: str  # "post" or "reply"
    key: str  # this post's stable key
    thread: str = ""  # for a reply, the root post's key
    post_id: str = field(default="", compare=False)


@dataclass(frozen=True)
class Reaction:
    at: dt.datetime
    email: str
    post: str  # the post's stable key
    emoji: str


@dataclass(frozen=True)
class Visit:
    """The person opened Mattermost without writing (their last activity moves)."""

    at: dt.datetime
    email: str


@dataclass(frozen=True)
class SurveyAnswer:
    at: dt.datetime
    email: str
    post: str  # the interactive post's stable key
    action: str  # the button's label (or the option picked in a menu)
    submission: tuple[tuple[str, str], ...] = ()  # the dialog that opened, as submitted
    score: int | None = None  # the 1 … 5 answer the person meant to give, where one applied
    error: str = ""


@dataclass(frozen=True)
class SupportRequest:
    at: dt.datetime
    email: str
    channel: str
    command: str
    category: str
    description: str
    dialog_opened: bool
    error: str = ""


@dataclass(frozen=True)
class Failure:
    at: dt.datetime
    email: str
    action: str
    detail: str


@dataclass
class SimulationLog:
    members: dict[str, Member] = field(default_factory=dict)
    acceptances: list[Acceptance] = field(default_factory=list)
    profile_changes: list[ProfileChange] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    survey_answers: list[SurveyAnswer] = field(default_factory=list)
    support_requests: list[SupportRequest] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    # Every HTTP request the people made (retries included): the model's cost.
    http_calls: int = field(default=0, compare=False)

    # ------------------------------------------------------------------ who

    def joined(self, until: dt.datetime | None = None) -> dict[str, dt.datetime]:
        """E-mail → when the person joined (accepted, or first visit for direct adds)."""
        return {a.email: a.at for a in self.acceptances if until is None or a.at <= until}

    def department_of(self, email: str) -> str:
        return self.members[email].department

    def completed_profiles(self, until: dt.datetime | None = None) -> set[str]:
        """People with a position and a picture of their own (Envol's "profile complete")."""
        done: dict[str, set[str]] = {}
        for change in self.profile_changes:
            if until is None or change.at <= until:
                done.setdefault(change.email, set()).update(change.fields)
        return {email for email, fields in done.items() if {"position", "picture"} <= fields}

    def last_activity(self) -> dict[str, dt.datetime]:
        """E-mail → the last moment the person did anything as themselves."""
        latest: dict[str, dt.datetime] = {}
        for event in self._activity():
            if event.at >= latest.get(event.email, event.at):
                latest[event.email] = event.at
        return latest

    def active_between(self, start: dt.datetime, end: dt.datetime) -> set[str]:
        """People who did anything in [start, end)."""
        return {e.email for e in self._activity() if start <= e.at < end}

    def _activity(
        self,
    ) -> list[
        Acceptance | ProfileChange | Message | Reaction | Visit | SurveyAnswer | SupportRequest
    ]:
        return [
            *self.acceptances,
            *self.profile_changes,
            *self.messages,
            *self.reactions,
            *self.visits,
            *self.survey_answers,
            *self.support_requests,
        ]

    # ------------------------------------------------------------------ counts

    def posts_per_person(self, kind: str | None = None) -> Counter[str]:
        return Counter(m.email for m in self.messages if kind is None or m.kind == kind)

    def posts_per_channel(self, kind: str | None = None) -> Counter[str]:
        return Counter(m.channel for m in self.messages if kind is None or m.kind == kind)

    def per_department(self, counts: Mapping[str, int] | Iterable[str]) -> Counter[str]:
        """Sum a per-person count (or count people) by department."""
        totals: Counter[str] = Counter()
        if isinstance(counts, Mapping):
            for email, count in counts.items():
                totals[self.members[email].department] += count
        else:
            for email in counts:
                totals[self.members[email].department] += 1
        return totals

    def department_sizes(self) -> Counter[str]:
        return Counter(member.department for member in self.members.values())

    def summary(self) -> dict[str, int]:
        return {
            "people": len(self.members),
            "joined": len(self.acceptances),
            "complete_profiles": len(self.completed_profiles()),
            "posts": sum(1 for m in self.messages if m.kind == "post"),
            "replies": sum(1 for m in self.messages if m.kind == "reply"),
            "reactions": len(self.reactions),
            "visits": len(self.visits),
            "survey_answers": len(self.survey_answers),
            "support_requests": len(self.support_requests),
            "failures": len(self.failures),
            "http_calls": self.http_calls,
        }
