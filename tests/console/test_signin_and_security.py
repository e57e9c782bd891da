"""Signing in to the console through Mattermost, and every way in that must be refused:
a replayed, expired or forged link, a missing CSRF token, a viewer acting, a forged cookie."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import func, select

from plugin import clock
from plugin.audit.models import AuditEvent
from plugin.console.models import ConsoleSession
from tests.console.world import ConsoleWorld


def _count(world: ConsoleWorld, model: type, *where: object) -> int:
    with world.context.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def _audit(world: ConsoleWorld) -> list[tuple[str, str]]:
    with world.context.sessions() as session:
        return [
            (actor, action)
            for actor, action in session.execute(
                select(AuditEvent.actor, AuditEvent.action).order_by(AuditEvent.id)
            ).tuples()
        ]


def _confirm_form(browser: requests.Session, link: str) -> dict[str, str]:
    page = browser.get(link, timeout=30)
    assert page.status_code == 200, page.text
    binding = re.search(r'name="binding" value="([^"]+)"', page.text)
    assert binding
    return {"binding": binding.group(1), "next": "/console/"}


def test_the_launch_team_gets_a_link_by_dm_and_signs_in(console_world: ConsoleWorld) -> None:
    world = console_world

    link = world.request_link("claire")

    assert "Je vous ai envoyé un lien de connexion" in world.ephemeral_texts("claire")[-1]
    dm = world.dm_posts("claire")[-1]
    assert dm["user_id"] == world.envol_user_id  # from the bot
    assert "10 minutes" in dm["message"]
    browser = requests.Session()
    page = browser.get(link, timeout=30)
    assert "@claire" in page.text and _count(world, ConsoleSession) == 0  # a GET spends nothing
    signed = browser.post(link, data=_confirm_form(browser, link), timeout=30)
    assert signed.status_code == 200 and signed.url.endswith("/console/")
    assert "Vue d&#39;ensemble" in signed.text and '<html lang="fr">' in signed.text
    cookie = next(c for c in browser.cookies if c.name == "envol_console")
    assert cookie.path == "/console/" and not cookie.secure
    assert cookie.has_nonstandard_attr("HttpOnly")
    raw = browser.post(link, data={"binding": "x"}, timeout=30)  # no: the binding differs
    assert raw.status_code == 400
    assert ("@claire", "console.signed_in") in _audit(world)


def test_a_session_cookie_is_httponly_lax_and_eight_hours(console_world: ConsoleWorld) -> None:
    world = console_world
    link = world.request_link("root")
    browser = requests.Session()
    answer = browser.post(
        link, data=_confirm_form(browser, link), timeout=30, allow_redirects=False
    )
    header = answer.headers["Set-Cookie"]
    assert "envol_console=" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert "Max-Age=28800" in header and "Secure" not in header  # http:// public URL
    home = browser.get(world.app_url + "/console/", timeout=30)
    assert '<html lang="en">' in home.text and "Overview" in home.text


def test_system_admins_and_the_committee_may_sign_in_and_others_are_refused(
    console_world: ConsoleWorld,
) -> None:
    world = console_world

    world.request_link("victor")  # the committee channel: a viewer
    world.person("eve").run_command(world.town_square_id, "/aide console")

    assert "consulter la console" not in world.ephemeral_texts("victor")[-1]
    assert "look at the console without changing anything" in world.ephemeral_texts("victor")[-1]
    [refusal] = world.ephemeral_texts("eve")
    assert refusal.startswith("Désolé, la console de lancement est réservée")
    assert world.dm_posts("eve") == []


def test_a_replayed_link_is_refused_and_says_how_to_get_a_new_one(
    console_world: ConsoleWorld,
) -> None:
    world = console_world
    link = world.request_link("claire")
    first = requests.Session()
    first.post(link, data=_confirm_form(first, link), timeout=30)
    sessions = _count(world, ConsoleSession)

    again = requests.Session()
    seen = again.get(link, timeout=30)
    replayed = again.post(link, data={"binding": "b", "next": "/console/"}, timeout=30)
    bound = requests.Session()
    bound.cookies.set("envol_console_signin", "b", path="/console/")
    replayed_bound = bound.post(link, data={"binding": "b", "next": "/console/"}, timeout=30)

    assert seen.status_code == 409 and "/envol console" in seen.text
    assert replayed.status_code == 400
    assert replayed_bound.status_code == 409 and "déjà servi" in replayed_bound.text
    assert _count(world, ConsoleSession) == sessions
    assert bound.get(world.app_url + "/console/", timeout=30).url.endswith(
        "/console/signin?next=/console/?"
    )


def test_an_expired_link_is_refused(console_world: ConsoleWorld) -> None:
    world = console_world
    link = world.request_link("claire")
    frozen = clock.FrozenClock(clock.now() + dt.timedelta(minutes=11))
    clock.set_source(frozen)
    try:
        browser = requests.Session()
        page = browser.get(link, timeout=30)
        browser.cookies.set("envol_console_signin", "b", path="/console/")
        posted = browser.post(link, data={"binding": "b"}, timeout=30)
    finally:
        clock.reset()

    assert page.status_code == 410 and "expiré" in page.text
    assert posted.status_code == 410
    assert _count(world, ConsoleSession) == 0


def test_a_forged_link_is_refused(console_world: ConsoleWorld) -> None:
    world = console_world
    link = world.request_link("claire")
    token = link.rsplit("/", 1)[1]
    forged = link[: -len(token)] + token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    browser = requests.Session()
    browser.cookies.set("envol_console_signin", "b", path="/console/")

    assert browser.get(forged, timeout=30).status_code == 400
    assert browser.post(forged, data={"binding": "b"}, timeout=30).status_code == 400
    assert _count(world, ConsoleSession) == 0


def test_a_change_without_its_csrf_token_is_refused(console_world: ConsoleWorld) -> None:
    world = console_world
    browser = world.sign_in("claire")
    before = _audit(world)

    missing = browser.post(world.app_url + "/console/cohorts/approve", data={}, timeout=30)
    wrong = browser.post(
        world.app_url + "/console/cohorts/approve", data={"csrf": "not-the-token"}, timeout=30
    )

    assert missing.status_code == wrong.status_code == 400
    assert _audit(world) == before


def test_a_viewer_may_look_but_not_act(console_world: ConsoleWorld) -> None:
    world = console_world
    browser = world.sign_in("victor")
    csrf = world.csrf(browser)
    before = _audit(world)

    page = browser.get(world.app_url + "/console/waves", timeout=30)
    acted = browser.post(
        world.app_url + "/console/waves/pilote/override",
        data={"csrf": csrf, "reason": "let me in"},
        timeout=30,
    )

    assert page.status_code == 200 and "read-only" in page.text
    assert acted.status_code == 403
    assert _audit(world) == before


def test_someone_removed_from_the_launch_team_can_no_longer_act(
    console_world: ConsoleWorld,
) -> None:
    world = console_world
    browser = world.sign_in("claire")
    csrf = world.csrf(browser)
    world.set_runtime(LaunchTeam="")
    before = _audit(world)

    acted = browser.post(
        world.app_url + "/console/cohorts/approve", data={"csrf": csrf}, timeout=30
    )

    assert acted.status_code == 403
    assert _audit(world) == before


def test_a_forged_session_cookie_is_refused(console_world: ConsoleWorld) -> None:
    world = console_world
    real = world.sign_in("claire")
    csrf = world.csrf(real)
    forger = requests.Session()
    forger.cookies.set("envol_console", "forged-" + "x" * 40, path="/console/")
    before = _audit(world)

    page = forger.get(world.app_url + "/console/waves", timeout=30, allow_redirects=False)
    acted = forger.post(world.app_url + "/console/cohorts/approve", data={"csrf": csrf}, timeout=30)

    assert page.status_code == 302 and "/console/signin" in page.headers["Location"]
    assert acted.status_code == 401
    assert _audit(world) == before


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(
    console_world: ConsoleWorld,
) -> None:
    world = console_world
    browser = world.sign_in("claire")
    copy = requests.Session()
    copy.cookies.update(browser.cookies)
    csrf = world.csrf(browser)

    out = browser.post(world.app_url + "/console/signout", data={"csrf": csrf}, timeout=30)

    assert out.status_code == 200 and "déconnecté" in out.text
    again = copy.get(world.app_url + "/console/", timeout=30, allow_redirects=False)
    assert again.status_code == 302
    assert ("@claire", "console.signed_out") in _audit(world)


def test_the_language_switch_and_the_pages_of_a_fresh_install(
    console_world: ConsoleWorld,
) -> None:
    world = console_world
    browser = world.sign_in("claire")
    csrf = world.csrf(browser)

    english = browser.post(
        world.app_url + "/console/language",
        data={"csrf": csrf, "language": "en", "next": "/console/roster"},
        timeout=30,
    )

    assert english.url.endswith("/console/roster") and "The roster" in english.text
    for path in ("/", "/roster", "/cohorts", "/waves", "/campaign", "/campaign?view=list",
                 "/invitations", "/support", "/reports", "/campaign/announcement"):  # fmt: skip
        page = browser.get(world.app_url + "/console" + path, timeout=30)
        assert page.status_code == 200, (path, page.text[:2000])
        assert "Content-Security-Policy" in page.headers


def test_envol_console_link_prints_a_link_for_a_console_user(
    console_world: ConsoleWorld,
) -> None:
    from plugin.cli import root

    world = console_world
    runner = CliRunner()

    printed = runner.invoke(root, ["--lang", "fr", "console", "link", "root", "--minutes", "30"])
    refused = runner.invoke(root, ["--lang", "en", "console", "link", "eve"])

    assert printed.exit_code == 0, printed.output
    assert "valable 30 min, une seule fois" in " ".join(printed.output.split())
    link = printed.output.strip().splitlines()[-1]
    assert link.startswith(world.app_url + "/console/signin/")
    browser = requests.Session()
    assert browser.post(link, data=_confirm_form(browser, link), timeout=30).url.endswith(
        "/console/"
    )
    assert refused.exit_code == 1 and "neither a system admin" in refused.output


@pytest.mark.parametrize("path", ["/console/", "/console/roster", "/console/reports/csv.zip"])
def test_pages_need_a_session(console_world: ConsoleWorld, path: str) -> None:
    answer = requests.get(console_world.app_url + path, timeout=30, allow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/console/signin?next=")


def test_the_launch_team_may_be_named_by_a_channel(console_world: ConsoleWorld) -> None:
    world = console_world
    world.set_runtime(LaunchTeam="~comite-lancement")

    browser = world.sign_in("victor")  # a committee member, now in the launch team
    page = browser.get(world.app_url + "/console/", timeout=30)
    world.set_runtime(LaunchTeam="")
    as_viewer = world.sign_in("victor").get(world.app_url + "/console/", timeout=30)

    assert "launch team" in page.text and "read-only" not in page.text
    assert "committee (read-only)" in as_viewer.text
