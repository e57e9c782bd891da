"""Every refusal a console page shows is in the signed-in person's language: the services'
own errors (roster, cohorts, waves' guard rails, campaign decisions) included, not only the
console's texts. Claire's Mattermost locale is French, root's English.

The browser side is Flask's test client; the app still calls the sandbox over real HTTP."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from plugin.demo.fake_roster import write_roster_csv
from plugin.people.service import import_roster
from tests.console.world import ConsoleWorld


def _signed_in(world: ConsoleWorld, name: str) -> FlaskClient:
    client: FlaskClient = world.app.test_client()
    link = urlsplit(world.request_link(name))
    path = link.path + (f"?{link.query}" if link.query else "")
    page = client.get(path)
    binding = re.search(r'name="binding" value="([^"]+)"', page.text)
    nxt = re.search(r'name="next" value="([^"]+)"', page.text)
    assert page.status_code == 200 and binding and nxt, page.text[:500]
    answer = client.post(link.path, data={"binding": binding.group(1), "next": nxt.group(1)})
    assert answer.status_code in (200, 302, 303), answer.text[:500]
    return client


def _post(client: FlaskClient, path: str, page: str = "/console/", **data: Any) -> str:
    """POST with the page's CSRF token; the answer's text, HTML entities decoded."""
    token = re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)
    assert token
    answer = client.post(path, data={"csrf": token.group(1), **data})
    return html.unescape(answer.text)


def _upload(client: FlaskClient, path: Path) -> str:
    with path.open("rb") as handle:
        return _post(client, "/console/roster/preview", "/console/roster",
                     roster=(handle, path.name))  # fmt: skip


def _import(world: ConsoleWorld, tmp_path: Path) -> None:
    with world.context.sessions.begin() as session:
        import_roster(session, write_roster_csv(tmp_path / "r.csv", 40, seed=3), actor="test")


@pytest.fixture
def bad_roster(tmp_path: Path) -> Path:
    path = tmp_path / "effectif.csv"
    path.write_text(
        "email,first_name,last_name\nann@exemple.fr,Ann,Lee\njean.dupont@@exemple,Jean,Dupont\n",
        encoding="utf-8",
    )
    return path


def test_a_roster_line_problem_is_in_french_for_a_french_person(
    console_world: ConsoleWorld, bad_roster: Path
) -> None:
    french = _upload(_signed_in(console_world, "claire"), bad_roster)
    english = _upload(_signed_in(console_world, "root"), bad_roster)

    assert "e-mail invalide 'jean.dupont@@exemple'" in french
    assert "invalid e-mail" not in french
    assert "invalid e-mail 'jean.dupont@@exemple'" in english


def test_a_roster_without_its_columns_is_refused_in_french(
    console_world: ConsoleWorld, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("courriel;service\nann@exemple.fr;RH\n", encoding="utf-8")

    french = _upload(_signed_in(console_world, "claire"), path)
    english = _upload(_signed_in(console_world, "root"), path)

    assert "la ligne d'en-tête ne peut pas être lue" in french
    assert "colonne(s) manquante(s) first_name, last_name" in french
    assert "the header cannot be read" not in french
    assert "missing column(s) first_name, last_name" in english


def test_a_waves_guard_refusal_is_in_the_persons_language(
    console_world: ConsoleWorld, tmp_path: Path
) -> None:
    world = console_world
    _import(world, tmp_path)
    world.on_wave_0_date()
    claire = _signed_in(world, "claire")
    _post(claire, "/console/cohorts/approve-proposal", seed="1")
    root = _signed_in(world, "root")

    # Typed confirmation given: the service itself refuses (the announcement has not gone out).
    french = _post(claire, "/console/waves/managers-champions/launch",
                   confirm="managers-champions", people="0")  # fmt: skip
    english = _post(root, "/console/waves/managers-champions/launch",
                    confirm="managers-champions", people="0")  # fmt: skip

    assert "la vague managers-champions ne peut pas ouvrir maintenant" in french
    assert "L'annonce officielle de la campagne" in french
    assert "cannot open now" not in french and "has not gone out" not in french
    assert "wave managers-champions cannot open now" in english


def test_cohort_and_campaign_refusals_are_in_french(
    console_world: ConsoleWorld, tmp_path: Path
) -> None:
    _import(console_world, tmp_path)
    claire = _signed_in(console_world, "claire")

    unknown_wave = _post(claire, "/console/waves/nulle-part/override", reason="comité")
    approve_nothing = _post(claire, "/console/cohorts/approve")
    hold = _post(claire, "/console/campaign/teaser-1/hold", reason="")

    assert "aucune vague nommée 'nulle-part'" in unknown_wave
    assert "aucun pilote n'est encore prévu" in approve_nothing
    assert "suspendre une étape demande une raison" in hold
    assert "needs a reason" not in hold


def test_a_waves_limit_warning_is_in_french(console_world: ConsoleWorld, tmp_path: Path) -> None:
    world = console_world
    _import(world, tmp_path)
    claire = _signed_in(world, "claire")
    _post(claire, "/console/cohorts/approve-proposal", seed="1")
    world.sandbox.patch_config({"TeamSettings": {"MaxUsersPerTeam": 10}})

    page = html.unescape(claire.get("/console/waves").text)

    assert "au-delà de MaxUsersPerTeam (10)" in page and "l'équipe aurait" in page
    assert "over MaxUsersPerTeam" not in page


def test_a_broken_campaign_plan_is_listed_in_the_persons_language(
    console_world: ConsoleWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugin.campaigns import plan as campaign_plan
    from tests.campaigns.conftest import break_plan, plain

    broken = tmp_path / "campaign"
    shutil.copytree(campaign_plan.DEFAULT_PLAN_DIR, broken)
    lines = break_plan(broken)
    monkeypatch.setattr(campaign_plan, "DEFAULT_PLAN_DIR", broken)

    french = plain(html.unescape(_signed_in(console_world, "claire").get("/console/campaign").text))
    english = plain(html.unescape(_signed_in(console_world, "root").get("/console/campaign").text))

    assert "le plan de campagne dans" in french and "3 erreurs à corriger" in french
    assert f"plan.yaml:{lines['when']} : erreur : étape « teaser-2 » : when : 'J40'" in french
    assert f"plan.yaml:{lines['mandatory']} : erreur :" in french
    assert "clé inconnue « langue »" in french
    assert "is not a day" not in french and "error(s)" not in french
    assert f"plan.yaml:{lines['when']}: error: step 'teaser-2': when: 'J40' is not a day" in english
    assert f"plan.yaml:{lines['langue']}: error: unknown key 'langue'" in english


def test_preflights_blockers_are_in_the_persons_language(
    console_world: ConsoleWorld, tmp_path: Path
) -> None:
    """The overview's blocking problems and a wave's refusal quote preflight's checks: each in
    the reader's words (Envol's public URL, on loopback, is not yet allowed by Mattermost)."""
    world = console_world
    _import(world, tmp_path)
    world.on_wave_0_date()
    claire = _signed_in(world, "claire")
    root = _signed_in(world, "root")

    french = html.unescape(claire.get("/console/").text)
    english = html.unescape(root.get("/console/").text)

    assert "Vérification préalable — URL publique d'Envol\u00a0:" in french
    assert "est une adresse privée absente d'AllowedUntrustedInternalConnections" in french
    assert "ajoutez 127.0.0.1 à ServiceSettings.AllowedUntrustedInternalConnections" in french
    assert "is a private address" not in french and "Envol's public URL" not in french
    assert "Preflight — Envol's public URL: " in english
    assert "add 127.0.0.1 to ServiceSettings.AllowedUntrustedInternalConnections" in english

    _post(claire, "/console/cohorts/approve-proposal", seed="1")
    refused = _post(claire, "/console/waves/managers-champions/launch",
                    confirm="managers-champions", people="0")  # fmt: skip
    assert "Le preflight signale un problème bloquant (URL publique d'Envol\u00a0: ajoutez" in (
        refused
    )


def test_an_invitations_failure_reason_is_in_the_persons_language(
    console_world: ConsoleWorld, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from plugin.cohorts.models import Wave
    from plugin.invitations.models import Invitation, InvitationState
    from plugin.people.models import Person

    world = console_world
    _import(world, tmp_path)
    claire = _signed_in(world, "claire")
    _post(claire, "/console/cohorts/approve-proposal", seed="1")
    with world.context.sessions.begin() as session:
        wave = session.scalars(select(Wave).order_by(Wave.position)).first()
        person = session.scalars(select(Person).order_by(Person.id)).first()
        assert wave is not None and person is not None
        session.add(Invitation(
            person_id=person.id, wave_id=wave.id, state=InvitationState.FAILED,
            failure_reason="gave up after 5 attempts: temporary 421: mailbox busy",
        ))  # fmt: skip

    french = html.unescape(claire.get("/console/invitations").text)
    english = html.unescape(_signed_in(world, "root").get("/console/invitations").text)

    assert "abandon après 5 tentatives\u00a0: échec temporaire 421\u00a0: mailbox busy" in french
    assert "gave up after" not in french
    assert "gave up after 5 attempts: temporary 421: mailbox busy" in english
