"""The launch team's commands speak the operator's language (``--lang``, ``ENVOL_LANG``):
waves' guard refusals, launch and gate, roster import/validate/diff, campaign approve/hold, the
confirmations — the services' own errors included, through the message catalogues."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console
from sqlalchemy import select

from plugin.app import EnvolContext
from plugin.cohorts.gates import CRITERIA, CriterionResult, GateResult
from plugin.cohorts.views import gate_table
from plugin.db import transaction
from plugin.metrics.gates import Trend
from plugin.people.models import Person
from plugin.settings import RuntimeSettings
from plugin.typography import NBSP
from tests.cohorts.conftest import READY, import_fake_roster
from tests.cohorts.test_waves import plan

# The wording does not depend on the database: SQLite only.
on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
pytestmark = [pytest.mark.usefixtures("late_clock")]


def run(language: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    from plugin.cli import root

    arguments = ["--lang", language, *args] if language else list(args)
    result = CliRunner(env=env).invoke(root, arguments)
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def planned(envol_context: EnvolContext, tmp_path: Path, settings: RuntimeSettings) -> Any:
    with transaction(envol_context.sessions) as session:
        import_fake_roster(session, tmp_path, 40)
        plan(session, settings)
    return envol_context


@pytest.fixture
def bad_roster(tmp_path: Path) -> Path:
    path = tmp_path / "rh.csv"
    path.write_text(
        "email;first_name;last_name\nann@exemple.fr;Ann;Lee\njean.dupont@@exemple;Jean;Dupont\n",
        encoding="utf-8",
    )
    return path


@on_sqlite
def test_a_guard_refusal_follows_the_operators_language(
    planned: EnvolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = dataclasses.replace(READY, announcement_sent_at=None)
    monkeypatch.setattr("plugin.cli.people._launch_facts", lambda session, ctx: facts)

    code_fr, french = run("fr", "waves", "launch", "pilote", "--yes")
    code_en, english = run("en", "waves", "launch", "pilote", "--yes")
    code_env, from_env = run("", "waves", "launch", "pilote", "--yes", env={"ENVOL_LANG": "en"})

    assert code_fr == code_en == code_env == 1
    assert "Erreur : la vague pilote ne peut pas ouvrir maintenant" in french
    assert "L'annonce officielle de la campagne (étape annonce-pdg) n'est pas encore partie" in (
        french
    )
    assert "cannot open" not in french and "Error:" not in french
    assert "Error: wave pilote cannot open now" in english
    assert "announcement (step annonce-pdg) has not gone out" in english
    assert "Error: wave pilote cannot open now" in from_env


@on_sqlite
def test_waves_launch_speaks_french_from_plan_to_confirmation(
    planned: EnvolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("plugin.cli.people._launch_facts", lambda session, ctx: READY)

    dry = run("fr", "waves", "launch", "managers-champions", "--dry-run")[1]
    code, no_terminal = run("fr", "waves", "launch", "managers-champions")
    english = run("en", "waves", "launch", "managers-champions", "--dry-run")[1]

    assert "simulation ; à faire : ouvrir la vague managers-champions :" in dry
    assert "rien n'a changé" in dry
    assert code == 1 and "demande une confirmation et il n'y a pas de terminal" in no_terminal
    assert "Ouvrir la vague managers-champions et inviter" in no_terminal
    assert "dry run: would open wave managers-champions:" in english


def test_roster_validate_names_each_problem_in_the_operators_language(bad_roster: Path) -> None:
    code_fr, french = run("fr", "roster", "validate", str(bad_roster))
    code_en, english = run("en", "roster", "validate", str(bad_roster))

    assert code_fr == code_en == 1
    assert "rh.csv : 1 ligne(s) invalide(s) sur 2" in french
    assert "ligne 3 : e-mail invalide 'jean.dupont@@exemple'" in french
    assert "invalid e-mail" not in french and "line 3" not in french
    assert "rh.csv: 1 invalid line(s) out of 2" in english
    assert "line 3: invalid e-mail 'jean.dupont@@exemple'" in english


@on_sqlite
def test_roster_import_and_diff_speak_french(planned: EnvolContext, tmp_path: Path) -> None:
    path = tmp_path / "nouveau.csv"
    path.write_text("courriel;prénom;nom\nann@exemple.fr;Ann;Lee\n", encoding="utf-8")

    imported = run("fr", "roster", "import", str(path), "--dry-run")[1]
    diff = run("fr", "roster", "diff", str(path))[1]
    english = run("en", "roster", "diff", str(path))[1]

    assert "nouveau.csv : 1 lignes" in imported and "Effectif (simulation" in imported
    assert "créées (seraient ajoutées)" in imported
    assert "1 arrivée(s), 0 modification(s), 40 départ(s)" in diff
    assert "serait marqué(e) comme parti(e)" in diff
    assert "rien n'a été écrit" in diff
    assert "1 joining, 0 changing, 40 leaving" in english


@on_sqlite
def test_campaign_approve_and_hold_speak_french(planned: EnvolContext) -> None:
    approved = run("fr", "campaign", "approve", "teaser-1")
    no_such = run("fr", "campaign", "hold", "nulle-part", "--reason", "visuel")
    english = run("en", "campaign", "hold", "teaser-1", "--reason", "visuel")

    assert approved == (0, "teaser-1 approuvée")
    assert no_such[0] == 1 and "Erreur : aucune étape 'nulle-part' dans le plan" in no_such[1]
    assert english == (0, "teaser-1 held")


@on_sqlite
def test_the_confirmation_names_what_it_asks_for_in_the_operators_language(
    planned: EnvolContext,
) -> None:
    with planned.sessions() as session:
        email = session.scalars(select(Person.email).order_by(Person.id)).first()

    code_fr, french = run("fr", "people", "forget", str(email))
    code_en, english = run("en", "people", "forget", str(email))

    assert code_fr == code_en == 1
    assert f"Effacer tout ce qu'Envol détient sur {email} (c'est irréversible) demande" in french
    assert "Erase everything" not in french
    assert f"Erase everything Envol holds about {email} (this cannot be undone) needs" in english


@on_sqlite
def test_waves_gate_speaks_the_operators_language(planned: EnvolContext) -> None:
    code_fr, french = run("fr", "waves", "gate", "pilote")
    code_en, english = run("en", "waves", "gate", "pilote")

    assert code_fr == code_en == 0
    assert "Barrière de la vague pilote (vagues ouvertes avant elle : aucune)" in french
    assert "taux d'activation (arrivés / invités)" in french and "seuil : 3,5/5" in french
    assert "résultat : non mesuré" in french
    assert "note : pas encore mesuré (managers-champions)" in french
    assert "mesures manquantes : taux d'activation" in french
    assert french.endswith("la barrière ne tient pas : la vague ne peut pas ouvrir")
    assert "activation rate" not in french and "not measured" not in french
    assert "Gate of wave pilote (waves before it: none)" in english
    assert (
        "threshold: 3.5/5" in english and "note: not measured yet (managers-champions)" in english
    )
    assert english.endswith("the gate fails: the wave cannot open")


def test_a_measured_gate_shows_numbers_trends_and_the_worst_wave_in_french() -> None:
    activation = CRITERIA[0]
    below = CriterionResult(activation, 70.0, 62.5, "pilote", False, "below the threshold")
    gate = GateResult("vague-2", ("pilote",), (below,), None)
    trend = Trend(now=62.5, before=58.3, before_day=dt.date(2027, 1, 15))
    screen = Console(record=True, width=200)

    screen.print(gate_table(gate, {activation.key: trend}, language="fr"))
    screen.print(gate_table(gate, {activation.key: trend}, language="en"))
    text = screen.export_text()

    assert f"62,5{NBSP}%" in text and f"70{NBSP}%" in text and "NE TIENT PAS" in text
    assert "↗ +4,2 pts depuis le 2027-01-15" in text
    assert f"sous le seuil dans pilote (la plus basse{NBSP}: pilote)" in text
    assert "62.5%" in text and "↗ +4.2 pts since 2027-01-15" in text
    assert "below the threshold in pilote (worst: pilote)" in text


@on_sqlite
def test_cohorts_plan_speaks_the_operators_language(planned: EnvolContext) -> None:
    code_fr, french = run("fr", "cohorts", "plan", "--dry-run")
    code_en, english = run("en", "cohorts", "plan", "--dry-run")

    assert code_fr == code_en == 0
    assert french.startswith("Pilote : 4 personne(s) sur 40 (cible 4 = 10 %, graine 1)")
    assert "┃ service ┃ site ┃ effectif ┃ retenus ┃ pourquoi ┃" in french
    assert "tiré(s) au sort" in french and "│ 2 service(s) │ 2 site(s) │" in french
    assert "Vagues prévues" in french and "prévue le : 2027-03-01" in french
    assert "Pilote : 10 % de l'effectif, stratifié par service et par site (graine 1)." in french
    assert "Vague générale 1 sur 3." in french
    assert french.endswith("simulation : rien n'a été écrit")
    assert "drawn" not in french and "Waves planned" not in french and "General" not in french
    assert english.startswith("Pilot: 4 of 40 people (target 4 = 10%, seed 1)")
    assert "┃ department ┃ site ┃ population ┃ selected ┃ why ┃" in english
    assert "Pilot: 10% of the roster, stratified by department and site (seed 1)." in english
    assert "General wave 3 of 3." in english and english.endswith("dry run: nothing written")


@on_sqlite
def test_a_failing_gate_names_its_criteria_in_the_operators_language(
    planned: EnvolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("plugin.cli.people._launch_facts", lambda session, ctx: READY)

    code_fr, french = run("fr", "waves", "launch", "pilote", "--yes")
    code_en, english = run("en", "waves", "launch", "pilote", "--yes")

    assert code_fr == code_en == 1
    assert (
        "La barrière de la vague pilote ne tient pas (taux d'activation (arrivés / invités) : "
        "pas encore mesuré (managers-champions) ; actifs sur 7 jours : pas encore mesuré"
    ) in french
    assert "activation rate" not in french and "not measured" not in french
    assert (
        "The gate of wave pilote fails (activation rate (joined / invited): not measured yet "
        "(managers-champions); weekly active rate: not measured yet"
    ) in english


@on_sqlite
def test_waves_list_and_show_speak_the_operators_language(planned: EnvolContext) -> None:
    code_list, listed = run("fr", "waves", "list")
    code_show, shown = run("fr", "waves", "show", "pilote")
    english = run("en", "waves", "show", "pilote")[1]

    assert code_list == code_show == 0
    assert listed.startswith("Vagues 0 · managers-champions état : prévue prévue le : 2027-02-15")
    assert "invitées : 0 arrivées : 0 équipe ensuite : 10" in listed
    assert "barrière de managers-champions : tient barrière de pilote : non mesurée" in listed
    assert "planned" not in listed and "gate of" not in listed
    assert shown.startswith("pilote (n° 1, prévue) prévue le : 2027-03-01 09:00 ; ouverte le : —")
    assert "personnes : 4 ; confiées aux invitations : 0 ; arrivées : 0" in shown
    assert "Barrière de la vague pilote" in shown and "seuil : 70 %" in shown
    assert "people:" not in shown and "Gate of" not in shown
    assert english.startswith("pilote (#1, planned) planned: 2027-03-01 09:00; opened: —")
    assert "people: 4; handed to invitations: 0; joined: 0" in english


@on_sqlite
def test_people_forget_says_what_it_erased_in_the_operators_language(
    planned: EnvolContext,
) -> None:
    with planned.sessions() as session:
        first, second = session.scalars(select(Person.email).order_by(Person.id).limit(2)).all()

    code_dry, dry = run("fr", "people", "forget", first, "--dry-run")
    code_en, english = run("en", "people", "forget", first, "--dry-run")
    code_done, done = run("fr", "people", "forget", second, "--yes")
    code_gone, gone = run("fr", "people", "forget", second, "--yes")
    code_gone_en, gone_en = run("", "people", "forget", second, env={"ENVOL_LANG": "en"})

    assert code_dry == code_en == code_done == code_gone == code_gone_en == 0
    assert dry.startswith("serait effacé (noté dans le journal d'audit, sans l'adresse) :")
    assert "entrées de l'effectif supprimées : 1" in dry
    assert "would erase" not in dry and "deleted" not in dry
    assert english.startswith("would erase (recorded in the audit trail without the address):")
    assert "roster entries deleted: 1" in english
    assert "sera effacé (noté" in done and "effacé (noté" in done
    assert done.endswith(
        "Retirez aussi la personne de l'export RH, sinon le prochain import la rajoute."
    )
    assert gone == "rien trouvé pour cette adresse ; rien à effacer."
    assert gone_en == "nothing found for this address; nothing to erase."


@on_sqlite
def test_every_count_an_eraser_gives_has_its_words_in_the_cli_catalogue(
    envol_context: EnvolContext,
) -> None:
    from plugin import models  # noqa: F401 - every capability's eraser, registered
    from plugin.cli.base import MESSAGES
    from plugin.cli.people import erased_key
    from plugin.erasure import ForgetSubject, registered_erasers
    from plugin.i18n import load_catalogue

    # Someone with every kind of trace an eraser looks for (none of them exists: nothing is
    # erased), so that each eraser names every count it can give.
    subject = ForgetSubject(
        email="nobody@exemple.fr",
        person_id=999_999,
        mattermost_user_id="nobody-user-id",
        aliases=frozenset({"nobody"}),
    )
    names = {"decisions and events anonymised (author)"}  # erase_everywhere's own count
    with envol_context.sessions() as session:
        for entry in registered_erasers():
            names |= set(entry.eraser(session, subject))
        session.rollback()

    assert len(names) > 10
    worded = load_catalogue(MESSAGES).keys
    assert sorted(name for name in names if erased_key(name) not in worded) == []


@on_sqlite
def test_cohorts_commands_speak_the_operators_language(planned: EnvolContext) -> None:
    with planned.sessions() as session:
        first, second = session.scalars(select(Person.email).order_by(Person.id).limit(2)).all()

    listed_fr = run("fr", "cohorts", "list")[1]
    listed_en = run("en", "cohorts", "list")[1]
    shown_fr = run("fr", "cohorts", "show", "pilote")[1]
    added = run("fr", "cohorts", "add", "pilote", first, second, "--reason", "volontaires")
    removed = run("en", "cohorts", "remove", "pilote", first, second)

    assert listed_fr.startswith("Cohortes") and "personnes" in listed_fr
    # A table cell wraps: the kind's words are looked for one by one.
    assert "ambassadeurs" in listed_fr and "managers_champions" not in listed_fr
    assert listed_en.startswith("Cohorts") and "people" in listed_en
    assert "champions" in listed_en and "managers_champions" not in listed_en
    assert shown_fr.startswith("pilote (pilote) : ")
    # The cohort's description and each member's reason are the plan's own words (data).
    assert "service" in shown_fr and "pourquoi" in shown_fr and "rôle" in shown_fr
    assert "salarié" in shown_fr and "employee" not in shown_fr and "why" not in shown_fr
    assert added[0] == 0 and added[1].startswith("2 ajoutée(s) à pilote, 0 y étai(en)t déjà")
    assert removed == (0, "2 removed from pilote, 0 were not in it")


@on_sqlite
def test_cohort_descriptions_and_reasons_are_worded_for_their_reader(
    planned: EnvolContext,
) -> None:
    """Stored as keys by the plan, a cohort's description and its members' reasons are worded
    when shown; a text written before (or typed by an operator) is shown as it is."""
    from plugin.cohorts.models import Cohort

    listed_fr = run("fr", "cohorts", "list")[1]
    listed_en = run("en", "cohorts", "list")[1]
    shown_fr = run("fr", "cohorts", "show", "pilote")[1]
    shown_en = run("en", "cohorts", "show", "pilote")[1]

    # Table cells wrap: whole phrases are looked for in the titles, words in the cells.
    assert "Vague générale" in listed_fr and "General wave" not in listed_fr
    assert "General wave" in listed_en and "Vague générale" not in listed_en
    # ``run`` joins the words: the no-break spaces read as spaces here.
    assert shown_fr.startswith("pilote (pilote) : Pilote : 10 % de l'effectif, stratifié par")
    assert shown_en.startswith(
        "pilote (pilot): Pilot: 10% of the roster, stratified by department and site (seed"
    )
    assert "tiré au sort" in shown_fr and "drawn" not in shown_fr
    assert "drawn" in shown_en and "plan.what" not in shown_en + listed_en

    with transaction(planned.sessions) as session:
        pilot = session.scalars(select(Cohort).where(Cohort.name == "pilote")).one()
        pilot.description = "Written before: kept as typed."
    assert run("fr", "cohorts", "show", "pilote")[1].startswith(
        "pilote (pilote) : Written before: kept as typed."
    )


@on_sqlite
def test_waitlist_commands_speak_the_operators_language(planned: EnvolContext) -> None:
    from plugin.cohorts.waitlist import submit_request
    from plugin.people.models import Language

    with transaction(planned.sessions) as session:
        last, before = session.scalars(select(Person.email).order_by(Person.id.desc())).all()[:2]
        asked = submit_request(session, last, "je veux essayer", Language.FR)
        other = submit_request(session, before, "moi aussi", Language.FR)
        assert asked is not None and other is not None
        asked_id, other_id = asked.id, other.id

    pending_fr = run("fr", "waitlist", "list")[1]
    pending_en = run("en", "waitlist", "list")[1]
    approved = run("fr", "waitlist", "approve", str(asked_id), "--note", "ok")
    rejected = run("en", "waitlist", "reject", str(other_id))
    everything = run("fr", "waitlist", "list", "--status", "all")[1]

    assert pending_fr.startswith("Liste d'attente (en attente)")
    assert "dans l'effectif" in pending_fr and "in roster" not in pending_fr
    assert pending_en.startswith("Waitlist (pending)") and "in roster" in pending_en
    assert approved[0] == 0 and approved[1].startswith(f"n°{asked_id} approuvée")
    assert rejected == (0, "1 rejected")
    assert everything.startswith("Liste d'attente (toutes)")
    assert "approuvée" in everything and "refusée" in everything and "rejected" not in everything
