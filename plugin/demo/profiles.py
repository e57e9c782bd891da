"""How simulated employees behave: one profile per kind of department, plus each person's traits.

The demo needs departments that differ (so the gates and the reports have something to show):
marketing and R&D adopt fast and write a lot, sales and operations lag, the rest sit in between.
Each person then varies around their department's profile, and the people the launch relies on
(committee, champions, managers, volunteers) are more engaged. Every draw comes from a hash of
(seed, purpose, person), so a person's traits do not depend on who else is in the roster.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

from plugin.text import strip_accents


@dataclass(frozen=True)
class BehaviourProfile:
    """What an average member of a department does; rates are per person."""

    name: str
    accept_rate: float  # share who ever accept an invitation
    accept_delay_days: float  # mean delay between receiving an invitation and accepting it
    profile_rate: float  # share who fill in their position and upload a picture
    profile_delay_days: float  # mean delay between joining and completing the profile
    visit_days_per_week: float  # working days a week an average member opens Mattermost
    posts_per_week: float
    replies_per_week: float
    reactions_per_week: float
    weekly_trend: float  # +0.04: activity grows 4 % a week after joining; -0.05: it fades
    survey_mood: float  # mean answer on a 1 (bad) … 5 (good) scale
    answer_rate: float  # share of surveys and polls answered
    support_per_month: float  # support requests a month (newcomers ask three times as much)


FAST = BehaviourProfile(
    name="fast",
    accept_rate=0.95,
    accept_delay_days=1.5,
    profile_rate=0.85,
    profile_delay_days=2.0,
    visit_days_per_week=1.5,
    posts_per_week=0.4,
    replies_per_week=0.5,
    reactions_per_week=0.8,
    weekly_trend=0.04,
    survey_mood=4.3,
    answer_rate=0.8,
    support_per_month=0.05,
)
AVERAGE = BehaviourProfile(
    name="average",
    accept_rate=0.82,
    accept_delay_days=4.0,
    profile_rate=0.6,
    profile_delay_days=5.0,
    visit_days_per_week=0.8,
    posts_per_week=0.15,
    replies_per_week=0.2,
    reactions_per_week=0.3,
    weekly_trend=0.0,
    survey_mood=3.6,
    answer_rate=0.55,
    support_per_month=0.04,
)
LAGGING = BehaviourProfile(
    name="lagging",
    accept_rate=0.6,
    accept_delay_days=9.0,
    profile_rate=0.35,
    profile_delay_days=10.0,
    visit_days_per_week=0.4,
    posts_per_week=0.05,
    replies_per_week=0.08,
    reactions_per_week=0.1,
    weekly_trend=-0.05,
    survey_mood=2.9,
    answer_rate=0.35,
    support_per_month=0.04,
)

# Department names as rosters spell them (French and English), accents and case ignored.
DEPARTMENT_PROFILES: dict[str, BehaviourProfile] = {
    "marketing": FAST,
    "communication": FAST,
    "recherche & developpement": FAST,
    "recherche et developpement": FAST,
    "r&d": FAST,
    "research & development": FAST,
    "research and development": FAST,
    "ventes": LAGGING,
    "vente": LAGGING,
    "commercial": LAGGING,
    "sales": LAGGING,
    "production": LAGGING,
    "logistique": LAGGING,
    "operations": LAGGING,
    "logistics": LAGGING,
    "finance": AVERAGE,
}

# The launch relies on these people: they accept sooner and stay more active.
ROLE_ENGAGEMENT = {"committee": 1.8, "champion": 1.8, "manager": 1.3, "employee": 1.0}
VOLUNTEER_ENGAGEMENT = 1.4
KEY_PEOPLE_ACCEPT_RATE = 0.97


def department_key(department: str) -> str:
    return " ".join(strip_accents(department).lower().split())


def profile_for(
    department: str, overrides: Mapping[str, BehaviourProfile] | None = None
) -> BehaviourProfile:
    """The department's profile; departments nobody described behave like ``AVERAGE``."""
    key = department_key(department)
    if overrides:
        for name, profile in overrides.items():
            if department_key(name) == key:
                return profile
    return DEPARTMENT_PROFILES.get(key, AVERAGE)


def stable_int(*parts: object) -> int:
    """A 64-bit integer from the parts: the same on every run and every platform (unlike
    ``hash()``, which is salted per process)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def unit(*parts: object) -> float:
    """A uniform draw in [0, 1) from the parts."""
    return stable_int(*parts) / 2**64


def rng_for(*parts: object) -> random.Random:
    return random.Random(stable_int(*parts))


@dataclass(frozen=True)
class PersonTraits:
    """One person's behaviour, drawn once from the seed and their e-mail address."""

    profile: BehaviourProfile
    engagement: float  # multiplies every activity rate; 1.0 is the department's average member
    accepts: bool
    accept_delay: dt.timedelta
    position_delay: dt.timedelta | None  # after joining; None: never sets a position
    picture_delay: dt.timedelta | None
    nickname_delay: dt.timedelta | None
    mood: float  # the person's own mean survey answer, 1 … 5

    @property
    def visit_days_per_week(self) -> float:
        return self.profile.visit_days_per_week * self.engagement


def _delay(rng: random.Random, mean_days: float, minimum_hours: float = 0.5) -> dt.timedelta:
    hours = rng.expovariate(1.0 / max(mean_days * 24.0, minimum_hours))
    return dt.timedelta(hours=max(hours, minimum_hours))


def draw_traits(
    seed: int, email: str, role: str, volunteer: bool, profile: BehaviourProfile
) -> PersonTraits:
    rng = rng_for(seed, "traits", email)
    role_factor = ROLE_ENGAGEMENT.get(role, 1.0) * (VOLUNTEER_ENGAGEMENT if volunteer else 1.0)
    # Log-normal around 1: most people near the department's average, a few very active.
    engagement = math.exp(rng.gauss(0.0, 0.45)) * role_factor
    key_person = role in ("committee", "champion") or volunteer
    accept_rate = profile.accept_rate
    if key_person:
        accept_rate = max(accept_rate, KEY_PEOPLE_ACCEPT_RATE)
    elif role == "manager":
        accept_rate = max(accept_rate, 0.9)
    accepts = rng.random() < accept_rate
    accept_delay = _delay(rng, profile.accept_delay_days / math.sqrt(engagement))
    completes = rng.random() < min(0.98, profile.profile_rate * math.sqrt(role_factor))
    position_delay = picture_delay = None
    if completes:
        position_delay = _delay(rng, profile.profile_delay_days)
        # Most people who fill in their job title also upload a picture, a little later.
        if rng.random() < 0.9:
            picture_delay = position_delay + _delay(rng, profile.profile_delay_days / 2)
    elif rng.random() < 0.3:
        # Some only add a picture, which leaves the profile incomplete.
        picture_delay = _delay(rng, profile.profile_delay_days * 2)
    nickname_delay = _delay(rng, profile.profile_delay_days) if rng.random() < 0.3 else None
    mood = min(5.0, max(1.0, rng.gauss(profile.survey_mood, 0.7) + 0.2 * (engagement - 1.0)))
    return PersonTraits(
        profile=profile,
        engagement=engagement,
        accepts=accepts,
        accept_delay=accept_delay,
        position_delay=position_delay,
        picture_delay=picture_delay,
        nickname_delay=nickname_delay,
        mood=mood,
    )
