"""The console's actions call the services the CLI calls and show their refusals; committee
posts announce what awaits a decision, once, with a button that opens the console."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import requests
from sqlalchemy import func, select

from plugin import clock
from plugin.audit.models import AuditEvent
from plugin.campaigns.models import CampaignStepDecision, StepDecision
from plugin.cohorts.approval import current_pilot
from plugin.cohorts.models import Wave, WaveStatus
from plugin.demo.fake_roster import write_roster_csv
from plugin.people.models import Person
from plugin.people.service import import_roster
from plugin.typography import NBSP
from tests.console.world import ConsoleWorld
from tests.people.rosters import person_row, write_xlsx


def _post(
    world: ConsoleWorld, browser: requests.Session, path: str, **data: str
) -> requests.Response:
    data.setdefault("csrf", world.csrf(browser))
    return browser.post(world.app_url + path, data=data, timeout=60)


def _actions(world: ConsoleWorld, actor: str = "@claire") -> list[str]:
    with world.context.sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent.action).where(AuditEvent.actor == actor).order_by(AuditEvent.id)
            )
        )


def _import(world: ConsoleWorld, tmp_path: Path, people: int = 40) -> None:
    with world.context.sessions.begin() as session:
        import_roster(
            session, write_roster_csv(tmp_path / "roster.csv", people, seed=3), actor="test"
        )


def test_an_excel_roster_is_previewed_then_imported(
    console_world: ConsoleWorld, tmp_path: Path
) -> None:
    world = console_world
    browser = world.sign_in("claire")
    path = write_xlsx(tmp_path / "effectif.xlsx", [person_row(n) for n in range(1, 6)])

    with path.open("rb") as handle:
        preview = browser.post(
            world.app_url + "/console/roster/preview",
            data={"csrf": world.csrf(browser, "/console/roster")},
            files={"roster": ("effectif.xlsx", handle)},
            timeout=60,
        )

    assert preview.status_code == 200
    assert "5 arrivée(s)" in preview.text.replace("</strong> ", " ").replace("<strong>", "")
    with world.context.sessions() as session:
        assert session.scalar(select(func.count(Person.id))) == 0  # the upload wrote nothing
    upload = re.search(r'name="upload" value="([^"]+)"', preview.text)
    checksum = re.search(r'name="checksum" value="([^"]+)"', preview.text)
    assert upload and checksum
    tampered = _post(
        world, browser, "/console/roster/import", upload=upload.group(1), checksum="0" * 64
    )
    assert tampered.status_code == 400 and "a changé depuis son aperçu" in tampered.text
    imported = _post(
        world,
        browser,
        "/console/roster/import",
        upload=upload.group(1),
        checksum=checksum.group(1),
    )
    assert imported.status_code == 200 and "Effectif importé" in imported.text
    with world.context.sessions() as session:
        assert session.scalar(select(func.count(Person.id))) == 5
        source = session.scalar(
            select(AuditEvent.details).where(AuditEvent.action == "roster.imported")
        )
    assert source is not None and source["source"] == "effectif.xlsx"
    again = _post(
        world,
        browser,
        "/console/roster/import",
        upload=upload.group(1),
        checksum=checksum.group(1),
    )
    assert again.status_code == 400 and "envoyez-le de nouveau" in again.text


def test_a_file_of_another_kind_is_refused(console_world: ConsoleWorld) -> None:
    world = console_world
    browser = world.sign_in("claire")

    answer = browser.post(
        world.app_url + "/console/roster/preview",
        data={"csrf": world.csrf(browser, "/console/roster")},
        files={"roster": ("photo.png", b"\x89PNG....")},
        timeout=60,
    )

    # In the signed-in person's language (Claire's Mattermost locale is French).
    assert (
        answer.status_code == 400 and "envoyez un fichier CSV (.csv) ou un classeur" in answer.text
    )


def test_the_pilot_is_redrawn_edited_and_approved_from_the_console(
    console_world: ConsoleWorld, tmp_path: Path
) -> None:
    world = console_world
    _import(world, tmp_path)
    browser = world.sign_in("claire")

    first = browser.get(world.app_url + "/console/cohorts?seed=1", timeout=60)
    second = browser.get(world.app_url + "/console/cohorts?seed=2", timeout=60)
    assert "Proposition (tirage n° 1)" in first.text and "n° 2" in second.text
    approved = _post(world, browser, "/console/cohorts/approve-proposal", seed="2", waves="2")
    assert "Pilote approuvé" in approved.text
    with world.context.sessions() as session:
        pilot = current_pilot(session)
        assert pilot is not None and pilot.approved
        outsider = session.scalar(
            select(Person.email).where(Person.role == "employee").order_by(Person.id.desc())
        )
        waves = session.scalar(select(func.count(Wave.id)))
    assert waves == 4  # managers-champions, the pilot, two general waves
    added = _post(world, browser, "/console/cohorts/add", email=str(outsider), reason="volontaire")
    assert "l&#39;approbation est à refaire" in added.text
    unknown = _post(world, browser, "/console/cohorts/add", email="nobody@nowhere.example")
    assert unknown.status_code == 409 and "n&#39;est pas dans l&#39;effectif" in unknown.text
    removed = _post(world, browser, "/console/cohorts/remove", email=str(outsider))
    assert "retirée du pilote" in removed.text
    _post(world, browser, "/console/cohorts/approve")
    assert _actions(world)[1:] == [
        "cohorts.planned",
        "pilot.approved",
        "pilot.approval_withdrawn",
        "cohort.member_added",
        "cohort.member_removed",
        "pilot.approved",
    ]


def test_a_launch_needs_the_typed_name_and_shows_the_gates_refusal(
    console_world: ConsoleWorld, tmp_path: Path
) -> None:
    world = console_world
    _import(world, tmp_path)
    world.on_wave_0_date(days_early=1)  # one day early: opening needs a reason
    browser = world.sign_in("claire")
    _post(world, browser, "/console/cohorts/approve-proposal", seed="1")
    not_yet = browser.get(world.app_url + "/console/waves", timeout=60)
    overview = browser.get(world.app_url + "/console/", timeout=60)
    world.ready_to_launch()
    confirm = browser.get(world.app_url + "/console/waves/managers-champions/launch", timeout=60)
    digest = re.search(r'name="people" value="([^"]+)"', confirm.text)
    assert digest, confirm.text

    wrong = _post(world, browser, "/console/waves/managers-champions/launch",
                  confirm="managers", people=digest.group(1))  # fmt: skip
    stale = _post(world, browser, "/console/waves/managers-champions/launch",
                  confirm="managers-champions", people="0" * 64,
                  force_reason="formation avancée")  # fmt: skip
    with world.context.sessions() as session:
        assert session.scalar(select(Wave.status).where(Wave.name == "managers-champions")) == (
            WaveStatus.PLANNED
        )
    no_force = _post(world, browser, "/console/waves/managers-champions/launch",
                     confirm="managers-champions", people=digest.group(1))  # fmt: skip
    launched = _post(world, browser, "/console/waves/managers-champions/launch",
                     confirm="managers-champions", people=digest.group(1),
                     force_reason="formation avancée d'un jour")  # fmt: skip
    gate = browser.get(world.app_url + "/console/waves/pilote/launch", timeout=60)
    no_reason = _post(world, browser, "/console/waves/pilote/override", reason="  ")
    overridden = _post(world, browser, "/console/waves/pilote/override", reason="comité du 12")

    # Before the announcement, the guard rails keep Launch disabled and say why, in French.
    assert "Cette vague ne peut pas ouvrir maintenant" in not_yet.text
    assert "L&#39;annonce officielle de la campagne (étape announcement)" in not_yet.text
    assert "L&#39;annonce officielle de la campagne" in overview.text  # a blocker there too
    assert re.search(r'<button type="button" class="primary" id="launch-managers-champions"'
                     r' disabled', not_yet.text)  # fmt: skip
    assert 'name="force_reason"' in confirm.text and "jamais une annonce" in confirm.text
    assert no_force.status_code == 409 and "est prévue le 15 février 2027" in no_force.text
    assert wrong.status_code == 400 and "Tapez exactement" in wrong.text
    assert stale.status_code == 409 and "ont changé depuis la page de confirmation" in stale.text
    assert launched.status_code == 200 and "Vague ouverte" in launched.text
    assert gate.status_code == 409 and "La barrière de la vague pilote ne tient pas" in gate.text
    # Its criteria too: named and explained in French, with French typography.
    assert "sous le seuil dans managers-champions\u202f; actifs sur 7 jours\u00a0:" in gate.text
    assert "activation rate" not in gate.text and "not measured" not in gate.text
    assert "prévue le 1er mars 2027" in gate.text  # and its date has not come
    assert no_reason.status_code == 409 and "Lever la barrière demande une raison" in no_reason.text
    assert "Barrière levée" in overridden.text
    assert _actions(world)[-3:] == ["wave.forced", "wave.launched", "wave.gate_overridden"]
    with world.context.sessions() as session:
        forced = session.scalar(select(AuditEvent).where(AuditEvent.action == "wave.forced"))
        assert forced is not None and forced.reason == "formation avancée d'un jour"


def test_campaign_steps_are_held_approved_and_tested_from_the_console(
    console_world: ConsoleWorld, tmp_path: Path
) -> None:
    world = console_world
    _import(world, tmp_path, people=10)
    browser = world.sign_in("claire")

    page = browser.get(world.app_url + "/console/campaign/teaser-1", timeout=60)
    email = browser.get(world.app_url + "/console/campaign/teaser-1/en/email.html", timeout=60)
    ics = browser.get(world.app_url + "/console/campaign.ics", timeout=60)
    no_reason = _post(world, browser, "/console/campaign/teaser-1/hold", reason="")
    held = _post(world, browser, "/console/campaign/teaser-1/hold", reason="visuel à revoir")
    approved = _post(world, browser, "/console/campaign/teaser-1/approve", note="ok")
    tested = _post(world, browser, "/console/campaign/announcement/test", language="en")

    assert page.status_code == 200 and "anglais" in page.text
    assert email.status_code == 200 and "<html" in email.text
    assert "style-src 'unsafe-inline'" in email.headers["Content-Security-Policy"]
    assert (
        ics.headers["Content-Type"].startswith("text/calendar") and b"BEGIN:VEVENT" in ics.content
    )
    assert (
        no_reason.status_code == 409 and "suspendre une étape demande une raison" in no_reason.text
    )
    assert "Message suspendu" in held.text
    assert "Message approuvé" in approved.text and "approuvé" in approved.text
    assert tested.status_code == 200 and "Test envoyé à votre adresse e-mail" in tested.text
    with world.context.sessions() as session:
        decision = session.scalar(select(CampaignStepDecision))
    assert decision is not None and decision.step_key.endswith("/teaser-1")
    assert decision.decision == StepDecision.APPROVED
    assert decision.decided_by == "@claire"
    assert _actions(world)[-3:] == [
        "campaign.step_held", "campaign.step_approved", "campaign.test_sent",
    ]  # fmt: skip


def test_the_committee_hears_of_decisions_once_and_the_button_opens_the_console(
    console_world: ConsoleWorld, tmp_path: Path
) -> None:
    from plugin.console.tasks import announce
    from plugin.mattermost import MattermostClient

    world = console_world
    _import(world, tmp_path, people=30)
    browser = world.sign_in("claire")
    _post(world, browser, "/console/cohorts/approve-proposal", seed="1")
    # Ten days before the managers' wave: its gate, and the steps of the coming week.
    clock.set_source(clock.FrozenClock(dt.datetime(2027, 2, 8, 10, 0, tzinfo=dt.UTC)))
    try:
        with MattermostClient.from_settings(world.context.settings) as mm:
            first = announce(world.context, mm)
            second = announce(world.context, mm)
    finally:
        clock.reset()

    assert "decision:gate:managers-champions" in first
    assert "decision:step:invite-stand" in first and second == []
    posts = world.sandbox.posts_in(world.committee_channel_id)
    assert len(posts) == len(first)
    gate_post = next(p for p in posts if "managers-champions" in p["message"])
    assert gate_post["message"].startswith(
        f"**Décision attendue{NBSP}: la vague managers-champions**"
    )
    victor = world.person("victor")
    action_id = victor.find_action(gate_post["id"], "Ouvrir dans la console")
    answer = victor.click(gate_post["id"], action_id)
    assert "goto_location" not in answer  # Mattermost would drop it: the link goes by DM
    shown = [p["message"] for p in world.sandbox.ephemeral_for(victor.user_id)]
    assert any("direct message" in text for text in shown)  # victor reads English
    dm = world.dm_posts("victor")[-1]["message"]
    assert "/console/signin/" in dm and "next=%2Fconsole%2Fwaves" in dm
    forged = requests.post(
        world.app_url + "/console/actions/open",
        json={"user_id": "x" * 26, "post_id": gate_post["id"], "context": {"signed": "forged"}},
        timeout=30,
    )
    assert forged.status_code in (400, 401)


def test_the_cli_approves_holds_and_sends_tests_like_the_console(
    console_world: ConsoleWorld, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from plugin.cli import root

    world = console_world
    _import(world, tmp_path, people=5)
    runner = CliRunner(env={"ENVOL_LANG": "en"})  # an English operator

    held = runner.invoke(root, ["campaign", "hold", "teaser-2", "--reason", "visuel"])
    no_reason = runner.invoke(root, ["campaign", "hold", "teaser-3"])
    approved = runner.invoke(root, ["campaign", "approve", "teaser-2"])
    tested = runner.invoke(
        root, ["campaign", "send-test", "teaser-2", "--to", "root", "--lang", "en"]
    )

    assert held.exit_code == 0 and "teaser-2 held" in held.output
    assert no_reason.exit_code == 2  # usage: --reason is required
    assert approved.exit_code == 0 and "teaser-2 approved" in approved.output
    assert tested.exit_code == 0, tested.output
    assert "sent to @root by e-mail" in tested.output
    with world.context.sessions() as session:
        actions = list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("campaign.%"))
                .order_by(AuditEvent.id)
            )
        )
    assert actions == ["campaign.step_held", "campaign.step_approved", "campaign.test_sent"]
