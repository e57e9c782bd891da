"""What each measure means, in one place: the funnel steps, the rates, profile completeness.

The funnel is nested so that its bars never grow from one step to the next:

* **invited**: an invitation was sent for some wave (planned ones do not count), or already on
  the team (someone who joined without an invitation was still reached);
* **joined**: an active (not deactivated) member of the launch team;
* **profile complete**: joined, with first and last name, position and a profile picture;
* **active (7 days)**: joined, and Mattermost saw activity in the last 7 days, or they posted;
* **contributed (7 / 28 days)**: joined, and posted or replied in a watched channel.

Rates are percentages of the step they are measured against: activation = joined / invited;
weekly active, contributors and profile completeness = … / joined.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

FUNNEL_STEPS: tuple[tuple[str, str, str], ...] = (
    # (attribute, French label, English label)
    ("invited", "invités", "invited"),
    ("joined", "inscrits", "joined"),
    ("profile_complete", "profil complet", "profile complete"),
    ("active_7d", "actifs (7 j)", "active (7 days)"),
    ("contributed_7d", "contributeurs (7 j)", "contributed (7 days)"),
    ("contributed_28d", "contributeurs (28 j)", "contributed (28 days)"),
)

SURVEY_QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("why_network", "Pourquoi ce réseau ?", "Why this network?"),
    ("what_for_me", "Qu'est-ce que ça m'apporte ?", "What does it bring me?"),
    ("how_to_use", "Comment l'utiliser ?", "How do I use it?"),
    ("what_expected", "Qu'attend-on de moi ?", "What is expected of me?"),
)

DIMENSIONS: tuple[str, ...] = ("all", "cohort", "wave", "department", "site", "manager")

WEEK = dt.timedelta(days=7)
FOUR_WEEKS = dt.timedelta(days=28)


def profile_is_complete(user: Mapping[str, Any]) -> bool:
    """First and last name, a position (job title) and a picture of one's own.

    Mattermost's ``last_picture_update`` is 0 for the generated avatar and negative after a
    reset to it; only a positive value means a picture was uploaded.
    """
    return bool(
        str(user.get("first_name") or "").strip()
        and str(user.get("last_name") or "").strip()
        and str(user.get("position") or "").strip()
        and int(user.get("last_picture_update") or 0) > 0
    )


def percent(part: int | float, whole: int | float) -> float | None:
    """``part / whole`` in %, or None when there is nothing to measure against."""
    return 100.0 * part / whole if whole else None


@dataclass
class PersonMeasure:
    """One person on one day: the row of ``PersonSnapshot`` before it is stored."""

    person_id: int
    department: str
    site: str
    manager_id: int | None
    invited: bool = False
    joined: bool = False
    profile_complete: bool = False
    active_7d: bool = False
    contributed_7d: bool = False
    contributed_28d: bool = False
    last_activity_at: dt.datetime | None = None
    posts_7d: int = 0
    replies_7d: int = 0
    posts_28d: int = 0
    replies_28d: int = 0

    def as_row(self) -> dict[str, Any]:
        return dict(self.__dict__)


# Slots: a snapshot holds one tally and one group a manager (a tenth of the roster), so their
# size is the snapshot's memory at 100,000 people (issue 18).
@dataclass(slots=True)
class SurveyTally:
    """Sums of the four answers over the responses counted for a group."""

    responses: int = 0
    sums: dict[str, float] = field(default_factory=lambda: {q: 0.0 for q, _, _ in SURVEY_QUESTIONS})

    def add(self, answers: Mapping[str, int]) -> None:
        self.responses += 1
        for question, _, _ in SURVEY_QUESTIONS:
            self.sums[question] += float(answers[question])

    def means(self) -> dict[str, float | None]:
        return {
            q: (self.sums[q] / self.responses if self.responses else None)
            for q, _, _ in SURVEY_QUESTIONS
        }


@dataclass(slots=True)
class GroupMeasure:
    """One group's totals; becomes a ``GroupSnapshot`` row."""

    dimension: str
    key: str
    label: str
    population: int = 0
    invited: int = 0
    joined: int = 0
    profile_complete: int = 0
    active_7d: int = 0
    contributed_7d: int = 0
    contributed_28d: int = 0
    posts_7d: int = 0
    replies_7d: int = 0
    tickets_opened: int = 0
    tickets_resolved: int = 0
    survey: SurveyTally = field(default_factory=SurveyTally)

    def add_person(self, person: PersonMeasure, tickets: tuple[int, int]) -> None:
        self.population += 1
        self.invited += person.invited
        self.joined += person.joined
        self.profile_complete += person.profile_complete
        self.active_7d += person.active_7d
        self.contributed_7d += person.contributed_7d
        self.contributed_28d += person.contributed_28d
        self.posts_7d += person.posts_7d
        self.replies_7d += person.replies_7d
        self.tickets_opened += tickets[0]
        self.tickets_resolved += tickets[1]

    def as_row(self) -> dict[str, Any]:
        means = self.survey.means()
        return {
            "dimension": self.dimension,
            "key": self.key,
            "label": self.label,
            "population": self.population,
            "invited": self.invited,
            "joined": self.joined,
            "profile_complete": self.profile_complete,
            "active_7d": self.active_7d,
            "contributed_7d": self.contributed_7d,
            "contributed_28d": self.contributed_28d,
            "posts_7d": self.posts_7d,
            "replies_7d": self.replies_7d,
            "tickets_opened": self.tickets_opened,
            "tickets_resolved": self.tickets_resolved,
            "survey_responses": self.survey.responses,
            "survey_why_network": means["why_network"],
            "survey_what_for_me": means["what_for_me"],
            "survey_how_to_use": means["how_to_use"],
            "survey_what_expected": means["what_expected"],
        }


def funnel_counts(people: Iterable[PersonMeasure]) -> dict[str, int]:
    """The funnel of a set of people, step by step (used by tests and the demo too)."""
    counts = {step: 0 for step, _, _ in FUNNEL_STEPS}
    for person in people:
        for step in counts:
            counts[step] += bool(getattr(person, step))
    return counts
