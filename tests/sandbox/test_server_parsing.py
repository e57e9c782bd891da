"""Request parsing as the server does it: query parameters (``web/params.go``), ids in the path
(``web/context.go``), booleans (``strconv.ParseBool``), error bodies (``WipeDetailed``) and the
unlicensed user caps (``app/limits.go``)."""

from __future__ import annotations

from typing import Any

import pytest

from plugin.sandbox import Sandbox
from plugin.sandbox.core import AppError
from tests.helpers.sandbox import SPEC_PRESENT
from tests.sandbox.conftest import Api, as_api, take_violations


@pytest.fixture
def people(sandbox: Sandbox, team: dict[str, Any]) -> list[dict[str, Any]]:
    users = [sandbox.create_user(f"person{i}") for i in range(3)]
    for user in users:
        sandbox.add_team_member(team["id"], user["id"])
    return users


@pytest.mark.parametrize(
    ("per_page", "expected"),
    [("abc", 4), ("-1", 4), ("2", 2), ("0", 0), ("500", 4), ("", 4), ("1.5", 4)],
)
def test_per_page_is_never_an_error(
    sandbox: Sandbox,
    admin: Api,
    team: dict[str, Any],
    people: list[dict[str, Any]],
    per_page: str,
    expected: int,
) -> None:
    """Not a number or negative: 60 (the 4 members fit); above 200: 200; 0 is 0."""
    response = admin.get(f"/teams/{team['id']}/members", params={"per_page": per_page})
    assert response.status_code == 200
    assert len(response.json()) == expected
    take_violations(sandbox)  # the spec types per_page as an integer; the server copes


def test_page_and_the_old_page_size(
    sandbox: Sandbox, admin: Api, team: dict[str, Any], people: list[dict[str, Any]]
) -> None:
    path = f"/teams/{team['id']}/members"
    assert len(admin.get(path, params={"page": "x", "per_page": "3"}).json()) == 3
    assert len(admin.get(path, params={"page": "-2", "per_page": "3"}).json()) == 3
    assert len(admin.get(path, params={"page": "1", "per_page": "3"}).json()) == 1
    assert len(admin.get(path, params={"pageSize": "1"}).json()) == 1  # mobile app ≤ 1.46
    take_violations(sandbox)  # page=x breaks the spec's integer type on purpose


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/users/not-an-id", "user_id"),
        ("/teams/short/members", "team_id"),
        ("/channels/" + "x" * 25 + "-", "channel_id"),
        ("/posts/" + "p" * 27, "post_id"),
    ],
)
def test_a_malformed_id_in_the_path_is_a_400(admin: Api, path: str, name: str) -> None:
    response = admin.get(path)
    assert response.status_code == 400
    body = response.json()
    assert body["id"] == "api.context.invalid_url_param.app_error"
    assert body["message"] == f"Invalid or missing {name} parameter in request URL."


def test_the_session_is_checked_before_the_ids(sandbox: Sandbox) -> None:
    anonymous = Api(sandbox, None)
    assert anonymous.get("/users/not-an-id").status_code == 401
    assert anonymous.get("/users/me").status_code == 401
    # No bearer token: the spec's rule too (checked when the spec is there).
    assert len(take_violations(sandbox)) == (2 if SPEC_PRESENT else 0)


def test_me_stands_for_the_session_user(sandbox: Sandbox, admin: Api) -> None:
    assert admin.get("/users/me").json()["id"] == sandbox.admin_user_id


def test_a_well_formed_unknown_id_is_a_404(admin: Api) -> None:
    assert admin.get("/users/" + "u" * 26).status_code == 404


def test_booleans_are_read_with_strconv_parse_bool(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    for true in ("true", "1", "t", "TRUE", "True"):
        assert "total_count" in admin.get("/teams", params={"include_total_count": true}).json()
    for not_true in ("yes", "on", "tRuE", ""):
        answer = admin.get("/teams", params={"include_total_count": not_true}).json()
        assert isinstance(answer, list), not_true
    take_violations(sandbox)  # "1", "yes" … are not the spec's booleans; the server reads them


def test_detailed_error_is_wiped_unless_developer_mode(
    sandbox: Sandbox, team: dict[str, Any], people: list[dict[str, Any]]
) -> None:
    stranger = sandbox.create_user("stranger")
    path = f"/teams/{team['id']}/members"
    refused = as_api(sandbox, stranger["id"]).get(path).json()
    assert refused["id"] == "api.context.permissions.app_error"
    assert refused["detailed_error"] == ""
    sandbox.patch_config({"ServiceSettings": {"EnableDeveloper": True}})
    assert "view_team" in as_api(sandbox, stranger["id"]).get(path).json()["detailed_error"]


def test_unlicensed_user_caps_are_the_servers() -> None:
    """5,000 soft and 11,000 hard by default; a new account is refused once the active users
    exceed the hard cap, so the cap plus one exist. Bots do not count."""
    sandbox = Sandbox(contract=False, user_limits=(2, 3))  # the admin is the first user
    try:
        assert Sandbox(contract=False).state.user_limits == (5000, 11000)
        for index in range(3):
            sandbox.create_user(f"user{index}")
        assert sandbox.state.active_user_count() == 4  # the cap (3) plus one
        sandbox.create_bot("helper")  # bots are not counted
        with pytest.raises(AppError) as refused:
            sandbox.create_user("one-too-many")
        assert refused.value.error_id == "api.user.create_user.user_limits.exceeded"
        assert refused.value.status == 400
        sandbox.set_license(True)
        sandbox.create_user("licensed")
    finally:
        sandbox.stop()


def test_limits_report_the_caps_to_admins_only(sandbox: Sandbox, admin: Api) -> None:
    limits = admin.get("/limits/server").json()
    assert (limits["maxUsersLimit"], limits["maxUsersHardLimit"]) == (5000, 11000)
    plain = sandbox.create_user("plain")
    assert as_api(sandbox, plain["id"]).get("/limits/server").json()["maxUsersHardLimit"] == 0
