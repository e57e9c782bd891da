"""``envol support list|faq-check`` and ``envol survey post --dry-run|results``."""

from __future__ import annotations

from click.testing import CliRunner

from plugin.app import EnvolContext
from plugin.cli import root
from plugin.support import service
from plugin.support.models import TicketCategory
from plugin.surveys import service as surveys


def test_faq_check_and_poll_dry_run() -> None:
    runner = CliRunner(env={"ENVOL_LANG": "en"})
    result = runner.invoke(root, ["support", "faq-check"])
    assert result.exit_code == 0 and "22 FAQ entries OK" in result.output
    french = runner.invoke(root, ["--lang", "fr", "support", "faq-check"])
    assert french.exit_code == 0 and "22 entrée(s) de FAQ correcte(s) dans" in french.output
    result = runner.invoke(
        root,
        [
            "survey",
            "post",
            "--key",
            "lunch",
            "--question",
            "Which day?",
            "--option",
            "Thu",
            "--option",
            "Fri",
            "--channel",
            "x",
            "--dry-run",
        ],
    )
    assert result.exit_code == 0 and "dry run" in result.output
    french = runner.invoke(
        root,
        ["--lang", "fr", "survey", "post", "--key", "lunch", "--question", "Quel jour ?",
         "--option", "jeudi", "--option", "vendredi", "--channel", "x", "--dry-run"],
    )  # fmt: skip
    assert french.exit_code == 0
    assert " ".join(french.output.split()) == (
        "simulation : sondage 'lunch' : Quel jour ? — jeudi / vendredi"
    )
    result = runner.invoke(
        root,
        [
            "survey",
            "post",
            "--key",
            "Bad Key",
            "--question",
            "Which?",
            "--option",
            "Thu",
            "--option",
            "Fri",
            "--channel",
            "x",
        ],
    )
    assert result.exit_code == 1 and "lowercase letters" in result.output


def test_support_list_and_poll_results(envol_context: EnvolContext) -> None:
    with envol_context.sessions.begin() as session:
        service.submit_request(
            session,
            user_id="a" * 26,
            category=TicketCategory.IDEA,
            description="Un canal pour le covoiturage",
            language="fr",
        )
        poll = surveys.ensure_poll(session, "lunch", "Which day?", ["Thu", "Fri"])
        surveys.record_vote(session, poll, "a" * 26, 1)
    runner = CliRunner(env={"ENVOL_LANG": "en"})
    listed = runner.invoke(root, ["support", "list", "--status", "open"])
    assert listed.exit_code == 0 and "idea" in listed.output and "covoiturage" not in listed.output
    french = runner.invoke(root, ["--lang", "fr", "support", "list", "--status", "open"])
    assert "Demandes d'aide" in french.output and "idée" in french.output
    assert "ouverte" in french.output and "idea" not in french.output
    tally = runner.invoke(root, ["survey", "results", "--poll", "lunch"])
    assert tally.exit_code == 0 and "Fri" in tally.output and "votes" in tally.output
    french = runner.invoke(root, ["--lang", "fr", "survey", "results"])
    assert french.exit_code == 0 and "Enquête de lancement par cohorte" in french.output
    assert "cohorte" in french.output and "Launch survey" not in french.output
    missing = runner.invoke(root, ["survey", "results", "--wave", "nope"])
    assert missing.exit_code == 1 and "no wave named" in missing.output
