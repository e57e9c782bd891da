"""The managers' weekly digest, and the CLI over a real cycle."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from plugin.app import EnvolContext
from plugin.cli import root
from plugin.clock import FrozenClock
from plugin.onboarding.cycle import run_once
from plugin.onboarding.digest import send_manager_digests
from plugin.sandbox import Sandbox
from tests.helpers.smtp import SmtpServer
from tests.invitations.world import build_scene, environment, markers


def test_each_manager_gets_one_digest_a_week_listing_incomplete_profiles(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    scene = build_scene(sandbox, envol_context.sessions, people=9, existing_every=2, managers=1)
    env = lambda: environment(  # noqa: E731
        sandbox, envol_context.sessions, smtp_url=smtp_server.url
    )
    run_once(env(), digests=False)
    report = send_manager_digests(env())
    assert report.sent == 1
    manager_user = scene.existing_user_ids[scene.manager_ids[0]]
    (post,) = [
        p
        for p in sandbox.state.posts.values()
        if (p.get("props") or {}).get("envol_marker", "").startswith("digest:")
    ]
    assert manager_user in sandbox.state.channels[post["channel_id"]]["name"]
    assert "Prénom2 Nom2" in post["message"] and "Pas encore arrivés (4)" in post["message"]
    assert send_manager_digests(env()).sent == 0  # same ISO week
    frozen_clock.advance(dt.timedelta(days=7))
    assert send_manager_digests(env()).sent == 1
    assert len(markers(sandbox, "digest:")) == 2


def test_status_shows_the_funnel_and_retry_failed_has_a_dry_run(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    build_scene(sandbox, envol_context.sessions, people=6, existing_every=3, managers=0)
    smtp_server.handler.reject_permanently.add("person1@acme.test")
    run_once(environment(sandbox, envol_context.sessions, smtp_url=smtp_server.url))
    runner = CliRunner(env={"ENVOL_LANG": "en"})
    result = runner.invoke(root, ["invitations", "status", "--wave", "pilote"])
    assert result.exit_code == 0, result.output
    for label in ("planned", "sent", "reminded", "joined", "activated", "profile complete"):
        assert label in result.output
    assert "550" in result.output and "retry-failed" in result.output
    unknown = runner.invoke(root, ["invitations", "status", "--wave", "nope"])
    assert unknown.exit_code == 1 and "no wave named" in unknown.output
    dry = runner.invoke(root, ["invitations", "retry-failed", "--dry-run"])
    assert dry.exit_code == 0 and "would retry 1" in dry.output
    again = runner.invoke(root, ["invitations", "status"])
    assert "failed: 1" in again.output


def test_retry_failed_speaks_the_operators_language(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    build_scene(sandbox, envol_context.sessions, people=6, existing_every=3, managers=0)
    smtp_server.handler.reject_permanently.add("person1@acme.test")
    run_once(environment(sandbox, envol_context.sessions, smtp_url=smtp_server.url))

    def retry(language: str, *args: str) -> str:
        arguments = ["--lang", language, "invitations", "retry-failed", *args]
        result = CliRunner().invoke(root, arguments)
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    dry_fr = retry("fr", "--dry-run")
    dry_en = retry("en", "--dry-run")
    done = retry("fr", "--yes")
    nothing_fr = retry("fr", "--yes")
    nothing_en = retry("en", "--yes")

    assert dry_fr.endswith(
        "à remettre dans la file : 1 invitation(s) ; le répartiteur les envoie dans la minute "
        "(ou lancez `envol onboarding run-once`)."
    )
    assert "550" in dry_fr and "would retry" not in dry_fr
    assert dry_en.endswith(
        "would retry 1 invitation(s); the dispatcher sends them within a minute "
        "(or run `envol onboarding run-once`)."
    )
    assert done.endswith("remises dans la file : 1 invitation(s) ; le répartiteur les envoie "
                         "dans la minute (ou lancez `envol onboarding run-once`).")  # fmt: skip
    assert nothing_fr == "aucune invitation en échec."
    assert nothing_en == "no failed invitation."


def test_status_opt_out_and_run_once_speak_the_operators_language(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build_scene(sandbox, envol_context.sessions, people=6, existing_every=3, managers=0)
    smtp_server.handler.reject_permanently.add("person1@acme.test")
    monkeypatch.setattr(
        "plugin.invitations.environment.build_environment",
        lambda ctx: environment(sandbox, envol_context.sessions, smtp_url=smtp_server.url),
    )

    def envol(language: str, *args: str) -> str:
        result = CliRunner().invoke(root, ["--lang", language, *args])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    plan_fr = envol("fr", "onboarding", "run-once", "--dry-run")
    plan_en = envol("en", "onboarding", "run-once", "--no-digest", "--dry-run")
    cycle_fr = envol("fr", "onboarding", "run-once", "--no-digest")
    status_fr = envol("fr", "invitations", "status", "--wave", "pilote")
    status_en = envol("en", "invitations", "status", "--wave", "pilote")
    opted_fr = envol("fr", "invitations", "opt-out", "person2@acme.test")
    opted_en = envol("en", "invitations", "opt-out", "person2@acme.test")

    assert plan_fr.startswith("enverrait les invitations dues maintenant (6 en attente au plus)")
    assert "puis enverrait la synthèse hebdomadaire des managers si elle est due" in plan_fr
    assert plan_fr.endswith("simulation : rien d'envoyé, rien d'écrit")
    assert plan_en.startswith("would send the invitations due now (at most 6 waiting)")
    assert "digest" not in plan_en and plan_en.endswith("dry run: nothing sent, nothing written")
    assert cycle_fr.startswith("invitations : ") and "1 en échec" in cycle_fr
    assert "arrivées : " in cycle_fr and "e-mailed" not in cycle_fr
    assert "Invitations — vague pilote" in status_fr
    assert "prévues" in status_fr and "profil complet" in status_fr
    assert "en échec : 1" in status_fr and "Échecs, par cause" in status_fr
    assert "corrigez la cause, puis lancez `envol invitations retry-failed`." in status_fr
    assert "still to send" not in status_fr and "Failures" not in status_fr
    assert "Invitations — wave pilote" in status_en and "failed: 1" in status_en
    assert "Failures, by reason" in status_en
    assert opted_fr.endswith("invitation(s) arrêtée(s).") and "stopped" not in opted_fr
    assert opted_en == "0 invitation(s) stopped."  # already stopped by the French run


def test_status_words_failure_reasons_in_the_operators_language(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    build_scene(sandbox, envol_context.sessions, people=6, existing_every=3, managers=0)
    smtp_server.handler.reject_permanently.add("person1@acme.test")
    run_once(environment(sandbox, envol_context.sessions, smtp_url=smtp_server.url))

    def status(language: str) -> str:
        result = CliRunner().invoke(root, ["--lang", language, "invitations", "status"])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    french, english = status("fr"), status("en")
    # Envol's words translated; the relay's own answer quoted as it gave it.
    assert "échec définitif 550 : " in french and "permanent 550" not in french
    assert "permanent 550: " in english
