"""The launch console end to end, as the launch lead uses it: in real Chromium (Debian's,
driven by Playwright), signed in through ``/envol console`` on the sandbox.

Claire uploads a roster with a mistake and sees its line, fixes it and imports it, approves the
pilot, launches the first wave with the typed confirmation and sees the invitations go out;
then the database and the audit trail are checked. Every page is checked with axe-core (no
serious or critical violation) in French and in English, and photographed. With
``ENVOL_CONSOLE_SCREENSHOTS=DIR`` the overview and the waves page are also written to DIR
(that is how docs/screenshots/ was made).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from plugin.audit.models import AuditEvent
from plugin.cohorts.models import Wave, WaveHandoff, WaveStatus
from plugin.demo.fake_roster import write_roster_csv
from plugin.invitations.environment import build_environment
from plugin.invitations.models import Invitation
from plugin.mattermost import MattermostClient
from plugin.metrics.service import take_snapshot
from plugin.onboarding.cycle import run_dispatch
from plugin.people.models import Person
from tests.console.world import ConsoleWorld

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGES = (
    ("overview", "/console/"),
    ("roster", "/console/roster"),
    ("cohorts", "/console/cohorts"),
    ("waves", "/console/waves"),
    ("launch", "/console/waves/pilote/launch"),
    ("campaign-month", "/console/campaign"),
    ("campaign-list", "/console/campaign?view=list"),
    ("campaign-step", "/console/campaign/announcement"),
    ("invitations", "/console/invitations"),
    ("support", "/console/support"),
    ("reports", "/console/reports"),
)
PEOPLE = 80


def _serious(results: Any) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def _broken_roster(tmp_path: Path) -> tuple[Path, Path, int]:
    """The fake HR export, and a copy whose one line has a broken address."""
    good = write_roster_csv(tmp_path / "effectif.csv", PEOPLE, seed=11)
    lines = good.read_text(encoding="utf-8-sig").splitlines()
    broken_line = 7  # the file's line number (line 1 holds the titles)
    cells = lines[broken_line - 1].split(";")
    cells[0] = cells[0].replace("@", " at ")
    lines[broken_line - 1] = ";".join(cells)
    bad = tmp_path / "effectif-avec-erreur.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return bad, good, broken_line


@pytest.mark.chromium
def test_the_launch_lead_runs_the_first_wave_from_the_console(
    console_world: ConsoleWorld, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"Chromium is missing at {CHROMIUM}; install Debian's chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    world = console_world
    shots = tmp_path / "screenshots"
    shots.mkdir()
    bad, good, broken_line = _broken_roster(tmp_path)
    world.on_wave_0_date()  # the guard rails: wave 0 opens on its planned date, not before
    link = world.request_link("claire")
    axe = axe_module.Axe()
    violations: dict[str, list[str]] = {}
    every: dict[str, list[str]] = {}

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="fr-FR")
            # The check can fail: a field without a label is a serious violation.
            page.set_content('<html lang="fr"><body><main><input type="text"></main></body></html>')
            assert any("label" in v for v in _serious(axe.run(page)))
            # The sign-in pages are checked too: the refusal, then the DM's link.
            for name, url in (
                ("signin-refused", world.app_url + "/console/signin?reason=expired"),
                ("signin-confirm", link),
            ):
                page.goto(url)
                found = _serious(axe.run(page))
                if found:
                    violations[name] = found
                page.screenshot(path=str(shots / f"{name}-fr.png"), full_page=True)
            page.click("#signin")
            page.wait_for_url("**/console/")
            assert page.locator("h1").inner_text().startswith("Lancement")

            # The roster, with a mistake: the report names its line; nothing is written.
            page.goto(world.app_url + "/console/roster")
            page.set_input_files("#roster-file", str(bad))
            page.click("#check-roster")
            problems = page.locator("#roster-problems").inner_text()
            assert f"{broken_line}" in problems and "e-mail invalide" in problems  # in French
            assert page.locator("#import-roster").count() == 0
            with world.context.sessions() as session:
                assert session.scalar(select(func.count(Person.id))) == 0
            # Fixed: the diff, then the import.
            page.set_input_files("#roster-file", str(good))
            page.click("#check-roster")
            assert f"{PEOPLE} arrivée" in page.locator("#roster-diff").inner_text()
            page.click("#import-roster")
            assert "Effectif importé" in page.locator(".notice.ok").inner_text()

            # The pilot: the proposal, approved.
            page.goto(world.app_url + "/console/cohorts")
            assert page.locator("#proposal-strata tbody tr").count() > 1
            page.click("#approve-proposal")
            assert "approuvé par @claire" in page.locator("#pilot-state").inner_text()

            # The first wave: the announcement has gone out and preflight is clean (the guard
            # rails); the confirmation lists who is invited and wants the name typed.
            world.ready_to_launch()
            page.goto(world.app_url + "/console/waves")
            page.click("#launch-managers-champions")
            invited = page.locator("#launch-people tbody tr").count()
            assert invited > 0
            page.fill("#confirm", "managers")  # not the name: refused, nothing happens
            page.click("#confirm-launch")
            assert "Tapez exactement" in page.locator(".notice.refused").inner_text()
            page.fill("#confirm", "managers-champions")
            page.click("#confirm-launch")
            page.wait_for_url("**/console/invitations?**")
            wave_funnel = page.locator('[data-wave="managers-champions"]')
            assert wave_funnel.locator('[data-stage="planned"]').inner_text() == str(invited)
            assert wave_funnel.locator('[data-stage="sent"]').inner_text() == "0"

            # The worker sends the invitations; the funnel shows them without a reload.
            with MattermostClient.from_settings(world.context.settings) as mm:
                env = build_environment(world.context, mm=mm)
                try:
                    report = run_dispatch(env)
                finally:
                    env.close()
            assert report.claimed == invited
            sent = page.locator('[data-wave="managers-champions"] [data-stage="sent"]')
            sync_api.expect(sent).to_have_text(str(invited), timeout=15_000)
            with (
                world.context.sessions() as session,
                MattermostClient.from_settings(world.context.settings) as mm,
            ):
                take_snapshot(session, mm, world.context.runtime.current)
                session.commit()

            # Every page, in both languages: axe-core, and a screenshot.
            for language in ("fr", "en"):
                if language == "en":
                    page.click("#switch-language")
                    page.wait_for_load_state()
                for name, path in PAGES:
                    page.goto(world.app_url + path)
                    page.wait_for_load_state("networkidle")
                    assert page.locator(f'html[lang="{language}"]').count() == 1, path
                    results = axe.run(page)
                    every[f"{language} {path}"] = [
                        f"{v['id']} ({v['impact']})" for v in results.response["violations"]
                    ]
                    found = _serious(results)
                    if found:
                        violations[f"{language} {path}"] = found
                    page.screenshot(path=str(shots / f"{name}-{language}.png"), full_page=True)
            page.emulate_media(media="print")
            page.goto(world.app_url + "/console/")
            page.pdf(path=str(shots / "overview-print.pdf"), landscape=True, format="A4")
            page.emulate_media(media="screen")
            export = os.environ.get("ENVOL_CONSOLE_SCREENSHOTS")
            if export:
                page.click("#switch-language")  # the README shows the French console
                for name, path in (("overview", "/console/"), ("waves", "/console/waves")):
                    page.goto(world.app_url + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(Path(export) / f"console-{name}.png"), full_page=False)
        finally:
            browser.close()

    (shots / "axe.json").write_text(json.dumps(every, indent=2), encoding="utf-8")
    assert violations == {}
    assert len(list(shots.glob("*.png"))) == 2 * len(PAGES) + 2
    assert (shots / "overview-print.pdf").stat().st_size > 0
    # The database: the roster, the plan, the open wave, its invitations.
    with world.context.sessions() as session:
        assert session.scalar(select(func.count(Person.id))) == PEOPLE
        wave = session.scalar(select(Wave).where(Wave.name == "managers-champions"))
        assert wave is not None and wave.status == WaveStatus.OPEN
        assert session.scalar(select(func.count(WaveHandoff.id))) == invited
        assert (
            session.scalar(select(func.count(Invitation.id)).where(Invitation.sent_at.is_not(None)))
            == invited
        )
        trail = [
            action
            for (action,) in session.execute(
                select(AuditEvent.action)
                .where(AuditEvent.actor == "@claire")
                .order_by(AuditEvent.id)
            )
        ]
    assert trail[:5] == [
        "console.signed_in",
        "roster.imported",
        "cohorts.planned",
        "pilot.approved",
        "wave.launched",
    ]
