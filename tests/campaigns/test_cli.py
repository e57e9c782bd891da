"""``envol campaign validate|plan|ics|status|send-due|opt-out`` through click."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from plugin import clock
from plugin.app import EnvolContext
from plugin.cli import root
from plugin.db import transaction
from tests.campaigns.conftest import PLANNING_TIME, Roster, add_roster, edit, line_of
from tests.helpers.smtp import SmtpServer


@pytest.fixture
def cli_world(
    envol_context: EnvolContext, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Roster]:
    monkeypatch.setattr(
        envol_context,
        "settings",
        envol_context.settings.model_copy(update={"smtp_url": smtp_server.url}),
    )
    clock.set_source(clock.FrozenClock(PLANNING_TIME))
    with transaction(envol_context.sessions) as session:
        roster = add_roster(session)
        session.expunge_all()
    yield roster
    clock.reset()


def invoke(*args: str) -> tuple[int, str]:
    # The assertions read English: the operator's language is set, not the settings' default.
    result = CliRunner(env={"ENVOL_LANG": "en"}).invoke(root, ["campaign", *args])
    return result.exit_code, result.output


def test_validate_passes_on_the_default_plan(cli_world: Roster) -> None:
    code, output = invoke("validate")
    assert code == 0 and "plan valid (11 steps, launch 2027-03-01" in output


def test_validate_fails_with_file_and_line(cli_world: Roster, plan_copy: Path) -> None:
    edit(plan_copy / "plan.yaml", "    when: J-32\n", "    when: J-25\n")
    code, output = invoke("validate", "--plan", str(plan_copy))
    line = line_of(plan_copy / "plan.yaml", "J-25")
    assert code == 1
    assert (
        f"plan.yaml:{line}: error: the official announcement ('announcement', 2027-02-04) "
        "is only 25 days" in output.replace("\n", "")
    )


def test_plan_prints_the_calendar_and_plans_nothing_before_the_first_step(
    cli_world: Roster,
) -> None:
    code, output = invoke("plan")
    assert code == 0
    assert "teaser-1" in output and "D-45" in output and "announcement" in output
    assert "planned" not in output.split("┘")[-1]


def test_ics_exports_one_event_per_step_and_per_launch_event(cli_world: Roster) -> None:
    code, output = invoke("ics")
    assert code == 0 and output.startswith("BEGIN:VCALENDAR")
    assert output.count("BEGIN:VEVENT") == 11 + 3 and "BEGIN:VTIMEZONE" in output


def test_ics_content(cli_world: Roster, envol_context: EnvolContext) -> None:
    from plugin.campaigns.ics import calendar_ics
    from plugin.campaigns.plan import load_plan
    from plugin.campaigns.service import calendar

    plan = load_plan()
    with transaction(envol_context.sessions) as session:
        entries = calendar(session, plan, dt.date(2027, 3, 1))
    parsed = Calendar.from_ical(calendar_ics(plan, entries, dt.date(2027, 3, 1)))
    events = list(parsed.walk("VEVENT"))
    assert len(events) == 11 + 3
    first = next(e for e in events if str(e["uid"]) == "lancement-teaser-1@envol")
    assert first.decoded("dtstart") == dt.datetime(2027, 1, 15, 8, 30, tzinfo=dt.UTC)
    assert str(first["summary"]) == "Message d'intrigue n°1 — tous les salariés"
    assert "Par e-mail à tous les salariés (5 personnes)." in str(first["description"])
    party = next(e for e in events if str(e["uid"]) == "lancement-invite-party-event@envol")
    assert str(party["location"]) == "le hall d'accueil"
    assert str(party["summary"]) == "Soirée de lancement"


def test_ics_titles_and_descriptions_are_written_for_people(
    cli_world: Roster, envol_context: EnvolContext
) -> None:
    from plugin.campaigns.ics import calendar_ics
    from plugin.campaigns.plan import load_plan
    from plugin.campaigns.service import calendar

    plan = load_plan()
    launch = dt.date(2027, 3, 1)
    with transaction(envol_context.sessions) as session:
        entries = calendar(session, plan, launch)
    for language, announcement_title, invite_title in [
        (
            "fr",
            "Annonce officielle d'Isabelle Moreau, présidente-directrice générale — tous les "
            "salariés",
            "Invitation\u00a0: séance photo de profil — tous les salariés",
        ),
        (
            "en",
            "Official announcement by Isabelle Moreau, Chief Executive Officer — all employees",
            "Invitation: profile photo session — all employees",
        ),
    ]:
        events = {
            str(e["uid"]): e
            for e in Calendar.from_ical(calendar_ics(plan, entries, launch, language)).walk(
                "VEVENT"
            )
        }
        assert str(events["lancement-announcement@envol"]["summary"]) == announcement_title
        assert str(events["lancement-invite-photo@envol"]["summary"]) == invite_title
        keys = [step.key for step in plan.steps]
        for event in events.values():
            text = str(event["summary"]) + str(event["description"])
            # No internal step name, channel code or template file reaches people.
            assert not any(key in text for key in keys if "-" in key), text
            assert "[email]" not in text and ".md" not in text and "→" not in text
    description = str(events["lancement-invite-photo@envol"]["description"])
    assert "Invitation to: profile photo session, on Thursday 18 February 2027, 10:00 to 16:00" in (
        description
    )


def test_send_due_dry_run_then_for_real_then_status(
    cli_world: Roster, smtp_server: SmtpServer
) -> None:
    clock.set_source(clock.FrozenClock(dt.datetime(2027, 1, 15, 10, 0, tzinfo=dt.UTC)))
    code, output = invoke("send-due", "--dry-run")
    assert code == 0 and "would plan teaser-1 for 5 recipient(s)" in output
    assert smtp_server.messages == []
    code, output = invoke("send-due", "--yes")
    assert code == 0 and "planned teaser-1 for 5 recipient(s)" in output and "sent 5" in output
    assert len(smtp_server.messages) == 5
    code, output = invoke("status")
    assert code == 0
    teaser_line = next(line for line in output.splitlines() if "teaser-1" in line)
    assert teaser_line.split("│")[3:8] == [
        "       0 ",
        "       0 ",
        "    5 ",
        "      0 ",
        "       0 ",
    ]


def test_opt_out_skips_optional_messages_only(cli_world: Roster, smtp_server: SmtpServer) -> None:
    code, output = invoke("opt-out", cli_world.employees[0].email.upper())
    assert code == 0 and "opted out" in output
    clock.set_source(clock.FrozenClock(dt.datetime(2027, 1, 15, 10, 0, tzinfo=dt.UTC)))
    invoke("send-due", "--yes")
    assert len(smtp_server.messages) == 4  # the teaser is optional
    clock.set_source(clock.FrozenClock(dt.datetime(2027, 1, 16, 10, 0, tzinfo=dt.UTC)))
    clock.set_source(clock.FrozenClock(dt.datetime(2027, 1, 28, 10, 0, tzinfo=dt.UTC)))
    code, output = invoke("send-due", "--yes")
    # Teasers 2 and 3 were missed (more than two days late); the announcement is mandatory.
    assert "missed teaser-2" in output and "sent 5" in output


def _in(language: str, *args: str) -> tuple[int, str]:
    """The command in ``language`` (``--lang``), its output's words joined by single spaces
    (rich wraps at the terminal width; French's no-break spaces count as spaces)."""
    result = CliRunner().invoke(root, ["--lang", language, "campaign", *args])
    return result.exit_code, " ".join(result.output.split())


def test_send_due_speaks_the_operators_language(cli_world: Roster, smtp_server: SmtpServer) -> None:
    clock.set_source(clock.FrozenClock(dt.datetime(2027, 1, 15, 10, 0, tzinfo=dt.UTC)))

    code_fr, dry_fr = _in("fr", "send-due", "--dry-run")
    code_en, dry_en = _in("en", "send-due", "--dry-run")
    assert code_fr == code_en == 0
    assert "planifierait teaser-1 pour 5 destinataire(s)" in dry_fr
    assert dry_fr.endswith("simulation : rien de planifié, rien d'envoyé")
    assert "would" not in dry_fr and "dry run" not in dry_fr
    assert "would plan teaser-1 for 5 recipient(s)" in dry_en
    assert dry_en.endswith("dry run: nothing planned, nothing sent")

    code, sent = _in("fr", "send-due", "--yes")
    assert code == 0 and len(smtp_server.messages) == 5
    assert "teaser-1 planifiée pour 5 destinataire(s)" in sent
    assert sent.endswith("envoyés : 5, à réessayer : 0, en échec : 0, ignorés : 0")

    code, nothing = _in("fr", "send-due", "--yes")
    assert code == 0 and nothing == "rien n'est dû maintenant."
    code, nothing = _in("en", "send-due", "--yes")
    assert code == 0 and nothing == "nothing is due now."

    clock.set_source(clock.FrozenClock(dt.datetime(2027, 1, 28, 10, 0, tzinfo=dt.UTC)))
    late = CliRunner(env={"ENVOL_LANG": "fr"}).invoke(root, ["campaign", "send-due", "--yes"])
    french = " ".join(late.output.split())
    assert late.exit_code == 0
    assert "teaser-2 manquée : due depuis trop longtemps pour partir en retard" in french
    assert "envoyés : 5" in french and "missed" not in french


def test_plan_status_and_opt_out_speak_the_operators_language(
    cli_world: Roster, smtp_server: SmtpServer
) -> None:
    code_fr, plan_fr = _in("fr", "plan", "--dry-run")
    code_en, plan_en = _in("en", "plan", "--dry-run")
    assert code_fr == code_en == 0
    assert "Plan de communication « " in plan_fr and "lancement le 2027-03-01" in plan_fr
    for french in ("quand", "public", "expéditeur", "état", "J-45", "ven. 15/01/27", "à venir"):
        assert french in plan_fr, french
    assert "D-45" not in plan_fr and "to come" not in plan_fr
    assert "Communication plan '" in plan_en and "launch 2027-03-01" in plan_en
    for english in ("when", "audience", "sender", "state", "D-45", "Fri 15/01/27", "to come"):
        assert english in plan_en, english

    preview = _in("fr", "plan", "--launch-date", "2027-04-01")[1]
    assert preview.endswith(
        "--launch-date ne fait qu'un aperçu : changez LaunchDate dans la System Console pour "
        "replanifier."
    )

    clock.set_source(clock.FrozenClock(dt.datetime(2027, 1, 15, 10, 0, tzinfo=dt.UTC)))
    _in("fr", "send-due", "--yes")
    status_fr = _in("fr", "status")[1]
    status_en = _in("en", "status")[1]
    assert "Campagne « " in status_fr and "échéance" in status_fr and "envoyés" in status_fr
    assert "à venir" in status_fr and "to come" not in status_fr
    assert "Campaign '" in status_en and "due" in status_en and "to come" in status_en

    email = cli_world.employees[0].email
    assert _in("fr", "opt-out", email) == (0, "désinscrit des messages facultatifs")
    assert _in("fr", "opt-out", email) == (0, "déjà désinscrit")
    assert _in("en", "opt-out", email) == (0, "already opted out")
