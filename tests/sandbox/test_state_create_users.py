"""``SandboxState.create_users``: many users at once, refused exactly where ``create_user``
would refuse them (the benchmarks build rosters of 100,000 with it)."""

from __future__ import annotations

import pytest

from plugin.sandbox.core import AppError, IdSource
from plugin.sandbox.state import SandboxState


def _state(hard_limit: int = 11_000) -> SandboxState:
    return SandboxState(ids=IdSource(seed=7), user_limits=(hard_limit, hard_limit))


def test_users_made_in_a_batch_are_the_users_create_user_makes() -> None:
    state = _state()
    one = state.create_user(username="Alice", email="Alice@Exemple.fr", first_name="Alice")
    batch = state.create_users(
        [{"username": "Bob", "email": "Bob@Exemple.fr", "first_name": "Bob", "locale": "fr"}]
    )
    [bob] = batch
    assert (bob["username"], bob["email"], bob["locale"]) == ("bob", "bob@exemple.fr", "fr")
    assert set(bob) == set(one)
    assert state.users[bob["id"]] is bob


@pytest.mark.parametrize(
    ("fields", "error_id"),
    [
        ({"username": "ALICE", "email": "other@exemple.fr"}, "username_exists"),
        ({"username": "other", "email": "alice@EXEMPLE.fr"}, "email_exists"),
        ({"username": "carol", "email": "carol@exemple.fr"}, "username_exists"),  # in the batch
        ({"username": "1bad", "email": "bad@exemple.fr"}, "is_valid.username"),
        ({"username": "nomail", "email": "nomail"}, "is_valid.email"),
    ],
)
def test_a_batch_is_refused_where_create_user_would_be(
    fields: dict[str, str], error_id: str
) -> None:
    state = _state()
    state.create_user(username="alice", email="alice@exemple.fr")
    with pytest.raises(AppError) as refused:
        state.create_users([{"username": "carol", "email": "carol@exemple.fr"}, fields])
    assert error_id in refused.value.error_id
    assert "carol" in {user["username"] for user in state.users.values()}  # the one before stays


def test_the_hard_user_limit_counts_the_users_of_the_batch() -> None:
    state = _state(hard_limit=2)
    state.create_users(
        {"username": f"user{n}", "email": f"user{n}@exemple.fr"} for n in range(3)
    )  # 0, 1 and 2 active before each: the limit is passed by one, as Mattermost allows
    with pytest.raises(AppError) as refused:
        state.create_users([{"username": "user3", "email": "user3@exemple.fr"}])
    assert refused.value.error_id == "api.user.create_user.user_limits.exceeded"
    bot = state.create_users([{"username": "bot", "email": "bot@exemple.fr", "is_bot": True}])
    assert bot[0]["is_bot"]
