"""The limits that bite: pagination, batches, invites, team size, rate limiting, faults."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from plugin.demo.sandbox_people import as_user
from plugin.sandbox import Sandbox
from plugin.sandbox.limits import FaultInjector, GcraLimiter
from tests.sandbox.conftest import Api, as_api


def test_per_page_is_capped_at_200_silently(sandbox: Sandbox, admin: Api) -> None:
    for index in range(205):
        sandbox.create_user(f"person{index:03d}")
    first = admin.get("/users", params={"per_page": 500, "page": 0}).json()
    assert len(first) == 200
    rest = admin.get("/users", params={"per_page": 500, "page": 1}).json()
    assert len(rest) == 6  # 205 people + the admin
    assert len(admin.get("/users").json()) == 60  # the default page size


def test_team_batch_is_limited_to_256_and_graceful_reports_each(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    sandbox.patch_config({"TeamSettings": {"MaxUsersPerTeam": 5}})
    users = [sandbox.create_user(f"batch{i}") for i in range(257)]
    path = f"/teams/{team['id']}/members/batch"
    too_many = admin.post(path, json=[{"team_id": team["id"], "user_id": u["id"]} for u in users])
    assert too_many.status_code == 400
    six = [{"team_id": team["id"], "user_id": u["id"]} for u in users[:6]]
    results = admin.post(path, params={"graceful": "true"}, json=six).json()
    errors = [r["error"]["id"] if r["error"] else None for r in results]
    # The admin is already in: 4 places left under MaxUsersPerTeam = 5.
    assert errors[:4] == [None] * 4
    assert errors[4:] == ["app.team.join_user_to_team.max_accounts.app_error"] * 2
    assert all(r["member"]["user_id"] == r["user_id"] for r in results[:4])
    strict = admin.post(path, json=six[4:])
    assert strict.status_code == 400


def test_max_users_per_team_defaults_to_50(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    users = [sandbox.create_user(f"cap{i}") for i in range(50)]
    added = admin.post(
        f"/teams/{team['id']}/members/batch",
        params={"graceful": "true"},
        json=[{"team_id": team["id"], "user_id": u["id"]} for u in users],
    ).json()
    assert sum(1 for r in added if r["error"] is None) == 49  # the admin is the 50th
    admin.put("/config/patch", json={"TeamSettings": {"MaxUsersPerTeam": 100}})
    last = admin.post(
        f"/teams/{team['id']}/members", json={"team_id": team["id"], "user_id": users[-1]["id"]}
    )
    assert last.status_code == 201


def test_channel_user_ids_at_most_1000(sandbox: Sandbox, admin: Api, team: dict[str, Any]) -> None:
    channel = sandbox.create_channel(team["id"], "crowd")
    response = admin.post(
        f"/channels/{channel['id']}/members", json={"user_ids": [f"{i:026d}" for i in range(1001)]}
    )
    assert response.status_code == 400
    outsiders = admin.post(
        f"/channels/{channel['id']}/members",
        json={"user_ids": [sandbox.create_user("notinteam")["id"]]},
    )
    assert outsiders.status_code == 403  # nobody could be added: the error comes back


def test_invites_20_per_hour_per_sender_all_or_nothing(
    sandbox: Sandbox, admin: Api, team: dict[str, Any], frozen_clock: Any
) -> None:
    import datetime as dt

    path = f"/teams/{team['id']}/invite/email"
    twenty_one = [f"p{i}@example.com" for i in range(21)]
    refused = admin.post(path, json=twenty_one)
    assert refused.status_code == 413
    assert refused.json()["id"] == "app.email.rate_limit_exceeded.app_error"
    assert sandbox.state.sent_invites == []
    graceful = admin.post(
        path,
        params={"graceful": "true"},
        json={"emails": twenty_one[:15], "channel_ids": [], "message": ""},
    )
    assert [r["error"] for r in graceful.json()] == [None] * 15
    assert admin.post(path, json=twenty_one[15:21]).status_code == 413  # 6 > 5 left
    assert admin.post(path, json=twenty_one[15:20]).status_code == 200
    other_sender = sandbox.create_user("hrdept")
    sandbox.add_team_member(team["id"], other_sender["id"])
    assert as_api(sandbox, other_sender["id"]).post(path, json=["x@example.com"]).ok
    frozen_clock.advance(dt.timedelta(hours=1))
    assert admin.post(path, json=[f"q{i}@example.com" for i in range(20)]).status_code == 200


def test_invites_respect_allowed_domains(sandbox: Sandbox, admin: Api) -> None:
    team = sandbox.create_team("closed", admin_id=sandbox.admin_user_id, allowed_domains="acme.com")
    result = admin.post(
        f"/teams/{team['id']}/invite/email",
        params={"graceful": "true"},
        json=["ok@acme.com", "no@other.org"],
    ).json()
    assert [bool(r["error"]) for r in result] == [False, True]


def test_gcra_burst_then_steady_rate() -> None:
    now = [100.0]
    limiter = GcraLimiter(per_sec=10, burst=100, now=lambda: now[0])
    decisions = [limiter.check("ip") for _ in range(102)]
    assert all(not d.limited for d in decisions[:101])
    assert decisions[0].limit == 101
    assert decisions[0].remaining == 100
    assert decisions[100].remaining == 0
    refused = decisions[101]
    assert refused.limited
    assert refused.headers()["Retry-After"] == "1"
    assert 0.09 < refused.retry_after <= 0.1 + 1e-9
    now[0] += 0.1
    assert not limiter.check("ip").limited
    assert limiter.check("ip").limited
    assert not limiter.check("other-ip").limited


def test_rate_limit_over_http(sandbox: Sandbox, admin: Api) -> None:
    sandbox.set_rate_limit(1, burst=2, clock=lambda: 1000.0)  # time stands still
    answers = [admin.get("/users/me") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    for answer in answers:
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
            answer.headers
        )
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    refused = answers[3]
    assert refused.text == "limit exceeded\n"
    assert refused.headers["Content-Type"].startswith("text/plain")
    assert int(refused.headers["Retry-After"]) >= 1
    assert int(refused.headers["X-RateLimit-Reset"]) >= 1
    assert sandbox.request_log.count(status=429) == 1
    assert sandbox.state.config["RateLimitSettings"]["Enable"] is True
    sandbox.set_rate_limit(None)
    assert "X-RateLimit-Limit" not in admin.get("/users/me").headers


def _fault_sequence(seed: int) -> list[str]:
    injector = FaultInjector(error_rate=0.3, drop_rate=0.1, timeout_rate=0.1, seed=seed)
    return [injector.plan().kind for _ in range(200)]


def test_faults_are_deterministic_under_a_seed() -> None:
    assert _fault_sequence(7) == _fault_sequence(7)
    assert _fault_sequence(7) != _fault_sequence(8)
    kinds = _fault_sequence(7)
    assert 0.2 < kinds.count("error") / 200 < 0.4
    assert {"none", "error", "drop", "timeout"} == set(kinds)
    with pytest.raises(ValueError):
        FaultInjector(error_rate=0.8, drop_rate=0.5)


def _statuses_under_faults(sandbox: Sandbox, admin: Api) -> list[int]:
    sandbox.set_faults(error_rate=0.3, drop_rate=0.2, seed=11)
    statuses = []
    for _ in range(30):
        try:
            statuses.append(admin.get("/users/me").status_code)
        except requests.ConnectionError:
            statuses.append(0)
    sandbox.clear_faults()
    return statuses


def test_faults_over_http_are_reproducible(sandbox: Sandbox, admin: Api) -> None:
    first = _statuses_under_faults(sandbox, admin)
    second = _statuses_under_faults(sandbox, Api(sandbox, sandbox.admin_token))
    assert first == second
    assert 0 in first and 200 in first
    assert {s for s in first if s >= 500} <= {500, 503}
    assert sandbox.request_log.count(status=0) == 2 * first.count(0)
    injected = [e for e in sandbox.request_log if e.fault == "error"]
    assert len(injected) == 2 * sum(1 for s in first if s >= 500)


def test_injected_error_does_not_apply_the_write_by_default(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    sandbox.set_faults(error_rate=1.0, seed=1)
    assert (
        admin.post("/posts", json={"channel_id": town["id"], "message": "lost"}).status_code >= 500
    )
    assert sandbox.posts_in(town["id"]) == []
    sandbox.set_faults(error_rate=1.0, seed=1, apply_then_fail=True)
    assert (
        admin.post("/posts", json={"channel_id": town["id"], "message": "applied"}).status_code
        >= 500
    )
    sandbox.clear_faults()
    assert [p["message"] for p in sandbox.posts_in(town["id"])] == ["applied"]
    assert sandbox.request_log.writes("/api/v4/posts") == 2


def test_one_request_per_connection(sandbox: Sandbox, admin: Api) -> None:
    # Bytes a faulted request left unread must never be parsed as the next request: every
    # answer closes its connection (werkzeug would otherwise upgrade a threaded server to 1.1).
    sandbox.set_faults(error_rate=1.0, seed=3)
    faulted = admin.post("/posts", json={"channel_id": "x" * 26, "message": "unread body"})
    sandbox.clear_faults()
    plain = admin.get("/users/me")
    for answer in (faulted, plain):
        assert answer.raw.version == 10
        assert answer.headers.get("Connection", "close").lower() == "close"
    assert plain.json()["username"] == "sysadmin"


def test_timeouts_and_latency(sandbox: Sandbox, admin: Api) -> None:
    sandbox.set_faults(timeout_rate=1.0, timeout_seconds=3.0, seed=1)
    with pytest.raises(requests.Timeout):
        admin.get("/users/me", timeout=0.2)
    sandbox.clear_faults()
    assert admin.get("/users/me").ok
    assert [e.fault for e in sandbox.request_log] == ["timeout", ""]


def test_faults_and_rate_limits_aim_at_envol_not_at_simulated_people(sandbox: Sandbox) -> None:
    user = sandbox.create_user("ana")
    person = as_user(sandbox, user["id"])
    sandbox.set_faults(error_rate=1.0, seed=1)
    sandbox.set_rate_limit(1, burst=1)
    for _ in range(5):
        assert person._call("GET", "/users/me")["id"] == user["id"]  # never faulted or limited
    response = requests.get(
        f"{sandbox.url}/api/v4/users/me",
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        timeout=10,
    )
    assert response.status_code in (429, 500, 503)
    sandbox.clear_faults()
    sandbox.set_rate_limit(None)
