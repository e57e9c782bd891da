"""The public /join page: languages, CSRF, rate limit, escaping, no enumeration, and an
end-to-end run in headless Chromium."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.serving import make_server

from plugin.app import EnvolContext
from plugin.cohorts.models import WaitlistRequest
from plugin.people.service import import_roster
from plugin.tasks import configure_celery
from tests.conftest import REDIS_URL, require_server
from tests.people.rosters import person_row, write_csv
from webhooks import create_app
from webhooks.join import RateLimiter

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def app(envol_context: EnvolContext, tmp_path: Path) -> Flask:
    configure_celery(envol_context.settings.broker_url)
    with envol_context.sessions.begin() as session:
        rows = [person_row(n) for n in range(1, 6)]
        import_roster(session, write_csv(tmp_path / "r.csv", rows), actor="test")
    app = create_app(context=envol_context)
    app.config["JOIN_RATE_LIMIT"] = (20, 600)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def stored(context: EnvolContext) -> list[tuple[str, str, str]]:
    with context.sessions() as session:
        rows = session.execute(
            select(WaitlistRequest.email, WaitlistRequest.reason, WaitlistRequest.language)
            .order_by(WaitlistRequest.id)
        ).all()  # fmt: skip
    return [(email, reason, language.value) for email, reason, language in rows]


def token_of(client: FlaskClient, lang: str = "fr") -> str:
    page = client.get(f"/join?lang={lang}").get_data(as_text=True)
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def submit(client: FlaskClient, email: str, reason: str = "", lang: str = "fr") -> tuple[int, str]:
    response = client.post(
        f"/join?lang={lang}",
        data={"email": email, "reason": reason, "token": token_of(client, lang), "lang": lang},
    )
    return response.status_code, response.get_data(as_text=True)


def test_language_from_accept_language_and_the_switch(client: FlaskClient) -> None:
    english = client.get("/join", headers={"Accept-Language": "en-GB,en;q=0.9"})
    french = client.get("/join", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    switched = client.get("/join?lang=en", headers={"Accept-Language": "fr"})

    assert "Ask to join the network" in english.get_data(as_text=True)
    assert "Demander à rejoindre le réseau" in french.get_data(as_text=True)
    assert '<html lang="en">' in switched.get_data(as_text=True)
    assert "frame-ancestors 'none'" in english.headers["Content-Security-Policy"]


def test_a_request_from_the_roster_is_stored(
    client: FlaskClient, envol_context: EnvolContext
) -> None:
    status, page = submit(client, "Employe2@exemple.fr", "Mon équipe y est déjà", lang="fr")

    assert status == 200 and "Merci" in page
    assert stored(envol_context) == [("employe2@exemple.fr", "Mon équipe y est déjà", "fr")]


def test_same_answer_whether_or_not_the_address_is_known(
    client: FlaskClient, envol_context: EnvolContext
) -> None:
    known = submit(client, "employe3@exemple.fr", lang="en")
    unknown_domain = submit(client, "spy@elsewhere.example", lang="en")
    unknown_person = submit(client, "not.yet@exemple.fr", lang="en")

    assert known == unknown_domain == unknown_person
    assert [email for email, _, _ in stored(envol_context)] == [
        "employe3@exemple.fr", "not.yet@exemple.fr",
    ]  # fmt: skip


def test_posts_without_a_valid_token_are_refused(
    client: FlaskClient, envol_context: EnvolContext
) -> None:
    no_token = client.post("/join", data={"email": "employe2@exemple.fr"})
    forged = client.post("/join", data={"email": "employe2@exemple.fr", "token": "abc.def"})
    token = token_of(client)
    other_browser = create_app(context=envol_context).test_client()  # no cookie: another origin
    foreign = other_browser.post("/join", data={"email": "employe2@exemple.fr", "token": token})
    first = client.post("/join", data={"email": "employe2@exemple.fr", "token": token})
    replayed = client.post("/join", data={"email": "employe4@exemple.fr", "token": token})

    assert [r.status_code for r in (no_token, forged, foreign)] == [400, 400, 400]
    assert first.status_code == 200 and replayed.status_code == 400
    assert [email for email, _, _ in stored(envol_context)] == ["employe2@exemple.fr"]


def test_output_is_escaped(client: FlaskClient, envol_context: EnvolContext) -> None:
    status, page = submit(client, 'x"><script>alert(1)</script>', "<b>bold</b><script>1</script>")

    assert status == 400 and "n'est pas valide" in page.replace("&#39;", "'")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert stored(envol_context) == []


def test_requests_are_rate_limited_per_address(app: Flask, envol_context: EnvolContext) -> None:
    app.config["JOIN_RATE_LIMIT"] = (3, 600)
    client = app.test_client()

    answers = [submit(client, f"employe{n}@exemple.fr")[0] for n in range(1, 5)]

    assert answers == [200, 200, 200, 429]
    assert len(stored(envol_context)) == 3


def test_the_budget_is_per_client_behind_trusted_proxies_and_shared_by_every_worker(
    envol_context: EnvolContext,
) -> None:
    """Two app instances (two workers) count in the same Redis; behind one trusted proxy the
    client's address is the forwarded one, and a client cannot forge another with the header."""
    require_server("Redis", "127.0.0.1", 6379)
    settings = envol_context.settings.model_copy(
        update={"trusted_proxies": 1, "rate_limit_storage": REDIS_URL}
    )
    context = dataclasses.replace(envol_context, settings=settings)
    workers = [create_app(context=context), create_app(context=context)]
    for worker in workers:
        worker.config["JOIN_RATE_LIMIT"] = (3, 600)
    client_address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"  # fresh budget

    def post(worker: Flask, forwarded_for: str) -> int:
        client = worker.test_client()
        token = token_of(client)
        headers = {"X-Forwarded-For": forwarded_for}
        form = {"email": "quelqu.un@exemple.fr", "token": token, "lang": "fr"}
        return client.post("/join?lang=fr", data=form, headers=headers).status_code

    answers = [post(workers[n % 2], client_address) for n in range(3)]
    # The client forges an address; the proxy appends the real one, the only one trusted.
    answers.append(post(workers[1], f"192.0.2.{uuid.uuid4().int % 250}, {client_address}"))
    assert answers == [200, 200, 200, 429]
    other_client = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.8"
    assert post(workers[0], other_client) == 200


# --------------------------------------------------------------------------- headless Chromium


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.mark.chromium
def test_end_to_end_in_headless_chromium(
    live_server: str, envol_context: EnvolContext, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"Chromium is missing at {CHROMIUM}; install Debian's chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            locale="fr-FR",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            page = browser.new_page()
            page.goto(f"{live_server}/join")
            assert page.locator("h1").inner_text() == "Demander à rejoindre le réseau"
            page.click("#switch")
            assert page.locator("h1").inner_text() == "Ask to join the network"
            page.fill("#email", "Employe5@Exemple.fr")
            page.fill("#reason", "My whole team is in the pilot <3")
            page.click("#submit")
            page.wait_for_selector("#done")
            assert page.locator("h1").inner_text() == "Thank you!"
            page.screenshot(path=str(tmp_path / "join-done.png"))
        finally:
            browser.close()

    assert stored(envol_context) == [
        ("employe5@exemple.fr", "My whole team is in the pilot <3", "en")
    ]
    with envol_context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(WaitlistRequest)) == 1


def test_a_rate_limit_storage_that_is_down_lets_the_page_work(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RateLimiter(1, 600, "redis://127.0.0.1:9/0")  # nothing listens on port 9
    assert limiter.allow("10.0.0.1") and limiter.allow("10.0.0.1")
    assert [r.getMessage() for r in caplog.records].count(
        "join rate limit not counted: ConnectionError"
    ) == 2
