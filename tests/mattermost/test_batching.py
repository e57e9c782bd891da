"""Batching at the API's limits: team members ≤ 256, channel members ≤ 1000, pages of 200."""

from __future__ import annotations

import responses
from responses import matchers

from plugin.mattermost import MattermostClient, MemberAddResult
from tests.mattermost.conftest import API, payload

TEAM = "t7e5a3m1q9w8e7r6t5y4u3i2oa"
CHANNEL = "c4h3a2n1e0l9k8j7h6g5f4d3sa"


def _ids(n: int) -> list[str]:
    return [f"user{i:022d}" for i in range(n)]


def _team_member(user_id: str) -> dict[str, object]:
    return {**payload("team_members_page")[0], "user_id": user_id}


def test_team_members_are_added_256_at_a_time_gracefully(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    users = _ids(600)
    for start, size in ((0, 256), (256, 256), (512, 88)):
        chunk = users[start : start + size]
        rsps.post(
            f"{API}/teams/{TEAM}/members/batch",
            json=[{"member": _team_member(u), "user_id": u, "error": None} for u in chunk],
            status=201,
            match=[
                matchers.query_param_matcher({"graceful": "true"}),
                matchers.json_params_matcher([{"team_id": TEAM, "user_id": u} for u in chunk]),
            ],
        )
    results = mm.add_team_members(TEAM, users + users[:10])  # duplicates are sent once
    assert len(rsps.calls) == 3
    assert [r.user_id for r in results] == users
    assert all(r.added for r in results)


def test_team_batch_reports_each_users_failure(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    answer = payload("team_members_batch_graceful")
    users = [item["user_id"] for item in answer]
    rsps.post(
        f"{API}/teams/{TEAM}/members/batch",
        json=answer,
        status=201,
        match=[matchers.query_param_matcher({"graceful": "true"})],
    )
    ok, full = mm.add_team_members(TEAM, users)
    assert ok == MemberAddResult(user_id=users[0], added=True)
    assert not full.added
    assert full.error_id == "app.team.join_user_to_team.max_accounts.app_error"
    assert "maximum number" in full.error


def test_channel_members_are_added_1000_at_a_time_by_user_ids(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    users = _ids(2500)
    member = payload("channel_member")
    for start in (0, 1000, 2000):
        chunk = users[start : start + 1000]
        # the server skips one user it cannot add; the others come back as members
        rsps.post(
            f"{API}/channels/{CHANNEL}/members",
            json=[{**member, "user_id": u} for u in chunk[1:]],
            status=201,
            match=[matchers.json_params_matcher({"user_ids": chunk})],
        )
    results = mm.add_channel_members(CHANNEL, users)
    assert len(rsps.calls) == 3
    assert len(results) == 2500
    skipped = [r.user_id for r in results if not r.added]
    assert skipped == [users[0], users[1000], users[2000]]


def test_a_single_added_member_comes_back_as_an_object(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    member = payload("channel_member")
    rsps.post(
        f"{API}/channels/{CHANNEL}/members",
        json=member,
        status=201,
        match=[matchers.json_params_matcher({"user_ids": [member["user_id"]]})],
    )
    assert mm.add_channel_members(CHANNEL, [member["user_id"]])[0].added


def test_servers_rejecting_user_ids_get_one_call_per_user_and_are_remembered(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    users = _ids(3)
    member = payload("channel_member")
    rsps.post(
        f"{API}/channels/{CHANNEL}/members",
        status=400,
        json=payload("error_invalid_user_id"),
        match=[matchers.json_params_matcher({"user_ids": users})],
    )
    for user_id in [*users, "late-user-00000000000000"]:
        rsps.post(
            f"{API}/channels/{CHANNEL}/members",
            json={**member, "user_id": user_id},
            status=201,
            match=[matchers.json_params_matcher({"user_id": user_id})],
        )
    assert all(r.added for r in mm.add_channel_members(CHANNEL, users))
    # Next time, no more user_ids attempt: straight to one call per user.
    assert mm.add_channel_members(CHANNEL, ["late-user-00000000000000"])[0].added
    assert len(rsps.calls) == 1 + 3 + 1


def test_users_by_ids_are_fetched_in_chunks_of_1000(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    users = _ids(1500)
    rsps.post(f"{API}/users/ids", json=[], match=[matchers.json_params_matcher(users[:1000])])
    rsps.post(f"{API}/users/ids", json=[], match=[matchers.json_params_matcher(users[1000:])])
    assert mm.get_users_by_ids(users) == []


def test_listings_walk_pages_of_200(rsps: responses.RequestsMock, mm: MattermostClient) -> None:
    user = payload("user")
    rsps.get(
        f"{API}/users",
        json=[{**user, "id": f"u{i}"} for i in range(200)],
        match=[
            matchers.query_param_matcher(
                {"in_team": TEAM, "active": "true", "page": "0", "per_page": "200"}
            )
        ],
    )
    rsps.get(
        f"{API}/users",
        json=[{**user, "id": "last"}],
        match=[
            matchers.query_param_matcher(
                {"in_team": TEAM, "active": "true", "page": "1", "per_page": "200"}
            )
        ],
    )
    users = list(mm.iter_users(in_team=TEAM, active=True))
    assert len(users) == 201 and users[-1]["id"] == "last"


def test_member_listings_stop_on_an_empty_page(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    member = payload("channel_member")
    rsps.get(
        f"{API}/channels/{CHANNEL}/members",
        json=[member] * 200,
        match=[matchers.query_param_matcher({"page": "0", "per_page": "200"})],
    )
    rsps.get(
        f"{API}/channels/{CHANNEL}/members",
        json=[],
        match=[matchers.query_param_matcher({"page": "1", "per_page": "200"})],
    )
    assert len(list(mm.iter_channel_members(CHANNEL))) == 200
