"""The contract check: exchanges validated against Mattermost's OpenAPI document."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from plugin.sandbox import KNOWN_GAPS, Sandbox
from plugin.sandbox.contract import ContractChecker, Exchange, default_spec_path
from tests.helpers.sandbox import needs_spec
from tests.sandbox.conftest import Api, take_violations

PROJECT = Path(__file__).resolve().parents[2]


@needs_spec
def test_a_wrong_field_type_is_a_violation(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    response = admin.post(
        "/channels", json={"team_id": team["id"], "name": "wave-1", "display_name": 3, "type": "O"}
    )
    assert response.status_code == 400
    [violation] = take_violations(sandbox)
    assert violation.startswith("request POST /api/v4/channels")
    assert "display_name" in violation and "is not of type 'string'" in violation


@needs_spec
def test_a_missing_required_field_is_a_violation(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    admin.post("/channels", json={"team_id": team["id"], "name": "wave-1", "type": "O"})
    assert any("display_name" in v for v in take_violations(sandbox))


@needs_spec
def test_known_gaps_are_excused(sandbox: Sandbox, admin: Api, team: dict[str, Any]) -> None:
    channel = sandbox.create_channel(team["id"], "gaps")
    user = sandbox.create_user("gapper")
    sandbox.add_team_member(team["id"], user["id"])
    assert (
        admin.post(
            f"/channels/{channel['id']}/members", json={"user_ids": [user["id"]]}
        ).status_code
        == 201
    )
    assert admin.post(
        f"/teams/{team['id']}/invite/email",
        params={"graceful": "true"},
        json={"emails": ["a@example.com"], "channel_ids": [], "message": "hi"},
    ).ok
    assert admin.get("/limits/server").ok
    assert sandbox.violations == []


@needs_spec
def test_patching_post_props_as_an_object_is_excused_and_nothing_else(
    sandbox: Sandbox, admin: Api, team: dict[str, Any]
) -> None:
    town = sandbox.channel_by_name(team["id"], "town-square")
    post = admin.post("/posts", json={"channel_id": town["id"], "message": "Sondage"}).json()
    path = f"/posts/{post['id']}/patch"
    assert admin.put(path, json={"props": {"poll": "open"}}).json()["props"] == {"poll": "open"}
    assert take_violations(sandbox) == []
    admin.put(path, json={"message": 3, "props": {"poll": "closed"}})
    [violation] = take_violations(sandbox)
    assert "message: 3 is not of type 'string'" in violation and "props" not in violation


@needs_spec
def test_a_wrong_response_is_a_violation() -> None:
    checker = ContractChecker(default_spec_path())
    exchange = Exchange(
        method="GET",
        path="/api/v4/channels/" + "c" * 26,
        route="/api/v4/channels/{channel_id}",
        args={},
        headers={"authorization": "Bearer x"},
        body=b"",
        content_type="",
        status=200,
        response_body=b'{"id": "c", "create_at": "yesterday"}',
        response_content_type="application/json",
    )
    [violation] = checker.check(exchange)
    assert violation.direction == "response"
    assert "create_at" in str(violation)


def test_every_known_gap_says_why_and_where_the_server_shows_it() -> None:
    for gap in KNOWN_GAPS:
        assert gap.direction in ("request", "response")
        assert len(gap.reason) > 30, gap
        assert gap.source.startswith(("server/channels/", "server/public/")), gap
        assert ".go" in gap.source, gap


def test_the_four_known_errors_of_the_2023_spec_are_listed_once() -> None:
    """Timezone values are strings, sidebar categories one object, channel members take
    user_ids, /limits/server exists: one gap each (two directions where both are wrong)."""
    sources = [g.source for g in KNOWN_GAPS]
    assert sum("model/user.go" in s for s in sources) == 1
    assert sum("channel_category.go" in s for s in sources) == 1
    assert sum("addChannelMember" in s for s in sources) == 2  # request and answer
    assert sum("api4/limits.go" in s for s in sources) == 2  # request and answer
    keys = [(g.direction, g.method, g.route, g.problem) for g in KNOWN_GAPS]
    duplicated = {k for k in keys if keys.count(k) > 1 and k[2] != "*"}
    assert not duplicated


def test_contract_check_off_records_nothing() -> None:
    with Sandbox.start(contract=False) as sandbox:
        api = Api(sandbox, sandbox.admin_token)
        team = sandbox.create_team("off", admin_id=sandbox.admin_user_id)
        api.post(
            "/channels", json={"team_id": team["id"], "name": "x1", "display_name": 3, "type": "O"}
        )
        assert sandbox.contract_status == "off"
        assert sandbox.violations == []


def test_absent_spec_is_skipped_and_said_once(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    missing = tmp_path / "openapi.yaml"
    with caplog.at_level(logging.WARNING, logger="plugin.sandbox.contract"):
        first = Sandbox(spec_path=missing)
        second = Sandbox(spec_path=missing)
    assert not first.contract_enabled and not second.contract_enabled
    assert first.contract_status.startswith("skipped: no spec at")
    said = [r for r in caplog.records if "contract check skipped" in r.getMessage()]
    assert len(said) == 1


@needs_spec
def test_the_sandbox_fixture_fails_a_test_on_a_violation(tmp_path: Path) -> None:
    test_file = tmp_path / "test_breaks_contract.py"
    test_file.write_text(
        textwrap.dedent("""
        import requests

        def test_sends_a_number(sandbox):
            team = sandbox.create_team("t1", admin_id=sandbox.admin_user_id)
            requests.post(sandbox.url + "/api/v4/channels", timeout=5,
                          headers={"Authorization": "Bearer " + sandbox.admin_token},
                          json={"team_id": team["id"], "name": "c1", "display_name": 3,
                                "type": "O"})
    """)
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(test_file),
            "-p",
            "tests.helpers.sandbox",
            "-c",
            str(PROJECT / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout
    assert "Mattermost API contract violation" in result.stdout
    assert "display_name" in result.stdout
