"""Timeouts, retries, backoff, error translation and token hygiene of the adapter's transport."""

from __future__ import annotations

import logging

import pytest
import requests
import responses
from responses import matchers

from plugin.errors import EnvolError
from plugin.mattermost import (
    FeatureDisabled,
    FeatureNeedsLicense,
    Forbidden,
    Invalid,
    MattermostClient,
    MattermostUnavailable,
    NotFound,
    Retryable,
    Unauthorized,
)
from tests.mattermost.conftest import API, BASE, TOKEN, FakeTime, payload

LIMITED = {"X-RateLimit-Limit": "101", "X-RateLimit-Remaining": "0"}


def _limit_exceeded(rsps: responses.RequestsMock, method: str, url: str, **headers: str) -> None:
    # What the server's rate limiter really sends: text/plain, not an AppError.
    rsps.add(
        method,
        url,
        body="limit exceeded\n",
        status=429,
        content_type="text/plain; charset=utf-8",
        headers={**LIMITED, **headers},
    )


# --------------------------------------------------------------------------- timeouts


def test_every_call_carries_the_request_timeout(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    rsps.get(f"{API}/users/me", json=payload("users_me"))
    rsps.get(f"{API}/teams/name/acme", json=payload("team"))
    rsps.post(f"{API}/users/ids", json=payload("users_by_ids"))
    mm.get_me()  # through the driver's endpoint methods
    mm.get_team_by_name("acme")
    mm.get_users_by_ids(["a"])  # through the raw path
    timeouts = [getattr(call.request, "req_kwargs", {}).get("timeout") for call in rsps.calls]
    assert timeouts == [7.5, 7.5, 7.5]


def test_the_driver_default_has_no_timeout_but_ours_does() -> None:
    from mattermostdriver import Driver

    assert Driver.default_options["request_timeout"] is None  # the defect we fix
    client = MattermostClient(BASE, TOKEN)
    assert client.driver.client.request_timeout is not None
    assert client.driver.options["request_timeout"] == 15.0


# --------------------------------------------------------------------------- retries


def test_429_honours_retry_after(
    rsps: responses.RequestsMock, mm: MattermostClient, fake_time: FakeTime
) -> None:
    _limit_exceeded(rsps, "GET", f"{API}/teams/name/acme", **{"Retry-After": "3"})
    rsps.get(f"{API}/teams/name/acme", json=payload("team"))
    assert mm.get_team_by_name("acme")["name"] == "acme"
    assert len(rsps.calls) == 2
    assert sum(fake_time.sleeps) >= 3  # waited at least what the server asked


def test_429_honours_x_ratelimit_reset_as_relative_seconds(
    rsps: responses.RequestsMock, mm: MattermostClient, fake_time: FakeTime
) -> None:
    _limit_exceeded(rsps, "GET", f"{API}/users/me", **{"X-RateLimit-Reset": "4"})
    rsps.get(f"{API}/users/me", json=payload("users_me"))
    mm.get_me()
    # Relative: 4 s, not "wait until 1970 + 4 s" (which would be no wait at all).
    assert 4 <= sum(fake_time.sleeps) < 10


def test_429_holds_the_shared_pacer_for_every_thread(
    rsps: responses.RequestsMock, mm: MattermostClient, fake_time: FakeTime
) -> None:
    _limit_exceeded(rsps, "GET", f"{API}/users/me", **{"Retry-After": "5"})
    rsps.get(f"{API}/users/me", json=payload("users_me"))
    rsps.get(f"{API}/teams/name/acme", json=payload("team"))
    before = fake_time.now
    mm.get_me()
    mm.get_team_by_name("acme")
    assert fake_time.now - before >= 5


def test_5xx_then_success_is_retried_with_growing_jittered_backoff(
    rsps: responses.RequestsMock, mm: MattermostClient, fake_time: FakeTime
) -> None:
    for status in (502, 503, 500):
        rsps.get(f"{API}/channels/c1", status=status, json=payload("error_internal"))
    rsps.get(f"{API}/channels/c1", json=payload("channel"))
    assert mm.get_channel("c1")["name"] == "entraide"
    assert len(fake_time.sleeps) == 3
    # equal jitter: attempt n waits in [base·2ⁿ/2, base·2ⁿ]
    for attempt, delay in enumerate(fake_time.sleeps):
        ceiling = 0.5 * 2**attempt
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize(
    "failure",
    [requests.ConnectionError("Connection reset by peer"), requests.ReadTimeout("read timed out")],
    ids=["connection-reset", "read-timeout"],
)
def test_connection_errors_and_timeouts_are_retried(
    rsps: responses.RequestsMock, mm: MattermostClient, failure: Exception
) -> None:
    rsps.get(f"{API}/users/me", body=failure)
    rsps.get(f"{API}/users/me", json=payload("users_me"))
    assert mm.get_me()["username"] == "admin"


def test_retries_stop_at_the_budget_with_a_clear_error(
    rsps: responses.RequestsMock, mm: MattermostClient, fake_time: FakeTime
) -> None:
    rsps.get(f"{API}/system/ping", status=503, body="upstream down", content_type="text/plain")
    with pytest.raises(MattermostUnavailable) as caught:
        mm.ping()
    assert fake_time.now - 1000.0 <= 30  # the budget given to the client
    assert len(rsps.calls) >= 4
    text = str(caught.value)
    assert "unavailable" in text and "HTTP 503" in text and "/system/ping" in text
    assert isinstance(caught.value, Retryable) and isinstance(caught.value, EnvolError)


def test_a_long_retry_after_beyond_the_budget_gives_up_at_once(
    rsps: responses.RequestsMock, mm: MattermostClient, fake_time: FakeTime
) -> None:
    _limit_exceeded(rsps, "GET", f"{API}/users/me", **{"Retry-After": "3600"})
    with pytest.raises(MattermostUnavailable):
        mm.get_me()
    assert fake_time.sleeps == []


def test_501_is_not_retried(rsps: responses.RequestsMock, mm: MattermostClient) -> None:
    rsps.post(
        f"{API}/brand/image",
        status=501,
        json={"id": "api.brand.init.app_error", "message": "Unable to find file storage."},
    )
    with pytest.raises(FeatureDisabled):
        mm.upload_brand_image(b"\x89PNG....")
    assert len(rsps.calls) == 1


# --------------------------------------------------------------------------- idempotency


def test_an_ambiguous_failure_of_a_create_is_not_resent_blindly(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    rsps.post(f"{API}/posts", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(Retryable, match="may have been applied"):
        mm.create_post("c1", "Bonjour")
    assert len(rsps.calls) == 1


def test_a_429_on_a_create_is_always_retried_since_nothing_was_done(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    _limit_exceeded(rsps, "POST", f"{API}/posts", **{"Retry-After": "1"})
    rsps.post(f"{API}/posts", status=201, json=payload("post"))
    assert mm.create_post("c1", "Bienvenue !")["id"]
    assert len(rsps.calls) == 2


def test_a_refused_connection_on_a_create_is_retried(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    refused = requests.ConnectionError(
        "HTTPConnectionPool: Max retries exceeded (Caused by NewConnectionError("
        "'Failed to establish a new connection: [Errno 111] Connection refused'))"
    )
    rsps.post(f"{API}/posts", body=refused)
    rsps.post(f"{API}/posts", status=201, json=payload("post"))
    assert mm.create_post("c1", "Bienvenue !")["id"]


def test_create_post_with_a_marker_finds_the_post_that_landed_instead_of_resending(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    channel = payload("channel")["id"]
    rsps.post(
        f"{API}/posts",
        body=requests.ReadTimeout("read timed out"),
        match=[
            matchers.json_params_matcher(
                {
                    "channel_id": channel,
                    "message": "Bienvenue !",
                    "props": {"envol_marker": "welcome:42"},
                }
            )
        ],
    )
    # The check before re-sending: the post is there, so no second POST.
    rsps.get(f"{API}/channels/{channel}/posts", json=payload("post_list_since"))
    post = mm.create_post(channel, "Bienvenue !", marker="welcome:42")
    assert post["props"]["envol_marker"] == "welcome:42"
    assert [c.request.method for c in rsps.calls] == ["POST", "GET"]
    assert "since=" in str(rsps.calls[1].request.url)


def test_create_post_with_a_marker_resends_when_the_post_did_not_land(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    channel = payload("channel")["id"]
    rsps.post(f"{API}/posts", status=502, body="bad gateway")
    rsps.get(f"{API}/channels/{channel}/posts", json={"order": [], "posts": {}})
    rsps.post(f"{API}/posts", status=201, json=payload("post"))
    assert mm.create_post(channel, "Bienvenue !", marker="welcome:42")["id"]
    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "POST"]


# --------------------------------------------------------------------------- error translation


@pytest.mark.parametrize(
    ("status", "fixture", "error_type"),
    [
        (400, "error_invalid_body", Invalid),
        (401, None, Unauthorized),
        (403, "error_permissions", Forbidden),
        (404, "error_not_found", NotFound),
        (413, "error_email_rate", Invalid),
        (403, "error_bookmark_license", FeatureNeedsLicense),
    ],
)
def test_errors_are_translated_with_the_servers_message_and_ids(
    rsps: responses.RequestsMock,
    mm: MattermostClient,
    status: int,
    fixture: str | None,
    error_type: type[Exception],
) -> None:
    body = (
        payload(fixture)
        if fixture
        else {
            "id": "api.context.session_expired.app_error",
            "message": "Invalid or expired session, please login again.",
            "request_id": "qk1x9w7mu3bzfc6yr5hbpd4tse",
            "status_code": 401,
        }
    )
    rsps.get(f"{API}/users/u1", status=status, json=body, headers={"X-Request-Id": "hdr"})
    with pytest.raises(error_type) as caught:
        mm.get_user("u1")
    error = caught.value
    assert isinstance(error, EnvolError)
    assert error.message == body["message"]  # type: ignore[attr-defined]
    assert error.error_id == body["id"]  # type: ignore[attr-defined]
    assert error.request_id == "qk1x9w7mu3bzfc6yr5hbpd4tse"  # type: ignore[attr-defined]
    assert error.status_code == status  # type: ignore[attr-defined]
    assert str(body["message"]) in str(error) and "qk1x9w7mu3bzfc6yr5hbpd4tse" in str(error)


def test_request_id_falls_back_to_the_header(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    rsps.get(
        f"{API}/teams/t1",
        status=404,
        json={"id": "app.team.get.find.app_error", "message": "Team not found."},
        headers={"X-Request-Id": "h8d7e6r5q4i3d2"},
    )
    with pytest.raises(NotFound) as caught:
        mm.get_team("t1")
    assert caught.value.request_id == "h8d7e6r5q4i3d2"


def test_driver_exceptions_never_reach_callers(
    rsps: responses.RequestsMock, mm: MattermostClient
) -> None:
    from mattermostdriver.exceptions import ResourceNotFound

    rsps.get(f"{API}/posts/p1", status=404, json=payload("error_not_found"))
    rsps.get(f"{API}/channels/c1", status=403, json=payload("error_permissions"))
    assert mm.get_post("p1") is None
    with pytest.raises(Forbidden) as caught:
        mm.get_channel("c1")
    assert not isinstance(caught.value, ResourceNotFound | requests.HTTPError)


# --------------------------------------------------------------------------- tokens


def test_the_token_is_never_logged_nor_shown(
    rsps: responses.RequestsMock, mm: MattermostClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rsps.get(f"{API}/users/me", status=503, body="down", content_type="text/plain")
    rsps.get(f"{API}/users/me", json=payload("users_me"))
    rsps.get(f"{API}/channels/c1", status=403, json=payload("error_permissions"))
    rsps.get(f"{API}/users/email/camille.martin@example.com", json=payload("user"))
    mm.get_me()
    with pytest.raises(Forbidden) as caught:
        mm.get_channel("c1")
    mm.get_user_by_email("camille.martin@example.com")
    assert rsps.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"  # it was sent
    shown = caplog.text + str(caught.value) + repr(mm) + repr(mm.driver.client.__dict__.keys())
    assert caplog.records, "the adapter logs its requests at DEBUG"
    assert TOKEN not in shown
    assert "camille.martin@example.com" not in caplog.text  # addresses masked in logged paths


# --------------------------------------------------------------------------- environment


def test_the_proxy_and_ca_variables_are_read_once_and_still_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from plugin.mattermost.pacing import TokenBucket
    from plugin.mattermost.transport import Transport

    def transport(url: str, **options: bool) -> Transport:
        return Transport(
            url, "t", timeout=5, pacer=TokenBucket(), retry_budget_seconds=5, **options
        )

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp-ca.pem")
    behind_proxy = transport("https://chat.example.com")
    assert behind_proxy.session.trust_env is False  # no per-request environment look-up
    assert behind_proxy.session.proxies["https"] == "http://proxy.corp:3128"
    assert behind_proxy.verify == "/etc/ssl/corp-ca.pem"

    monkeypatch.setenv("NO_PROXY", "chat.example.com")
    bypassed = transport("https://chat.example.com")
    assert "https" not in bypassed.session.proxies
    assert transport("https://chat.example.com", verify=False).verify is False
