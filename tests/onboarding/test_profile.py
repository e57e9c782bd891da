"""Profile completeness."""

from __future__ import annotations

from plugin.onboarding.profile import profile_score


def test_a_full_profile_is_complete() -> None:
    user = {"first_name": "Ana", "last_name": "Lima", "position": "CFO", "last_picture_update": 5}
    score = profile_score(user)
    assert score.complete and score.score == 100 and score.missing == ()


def test_a_default_picture_and_blank_position_are_missing() -> None:
    score = profile_score({"first_name": "Ana", "last_name": "Lima", "position": "  "})
    assert score.missing == ("position", "picture") and score.score == 40


def test_the_nickname_counts_only_when_weighted() -> None:
    user = {"first_name": "Ana", "last_name": "Lima", "position": "CFO", "last_picture_update": 1}
    weighted = (("first_name", 1), ("nickname", 1))
    assert profile_score(user).complete
    assert profile_score(user, weighted).missing == ("nickname",)
