"""The delivery ledger: stable keys, copies counted, run-specific details ignored, differences
named (``plugin/demo/ledger.py``)."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from plugin.demo.ledger import (
    Ledger,
    build_ledger,
    compare_ledgers,
    read_ledger,
    write_ledger,
)
from plugin.mattermost import MARKER_PROP
from plugin.sandbox import Sandbox


def _email(to: str, subject: str, body: str, key: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Envol <envol@exemple.fr>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = "<random.1234@exemple.fr>"
    if key is not None:
        message["X-Envol-Key"] = key
    message.set_content(body)
    return message


def _scene(sandbox: Sandbox) -> dict[str, Any]:
    """Envol's bot, a team with a channel, a person; the bot welcomes her twice (a duplicate),
    pins a guide, answers in its thread; she posts too (not Envol's)."""
    bot = sandbox.create_bot("envol", "Envol")
    alice = sandbox.create_user("alice")
    team = sandbox.create_team("exemple", admin_id=sandbox.admin_user_id)
    guides = sandbox.create_channel(team["id"], "guides")
    for user_id in (bot["user_id"], alice["id"]):
        sandbox.add_team_member(team["id"], user_id)
        sandbox.add_channel_member(guides["id"], user_id)
    state = sandbox.state
    with state.lock:
        dm = state.direct_channel(bot["user_id"], alice["id"])
        for _ in range(2):
            state.create_post(
                user_id=bot["user_id"], channel_id=dm["id"], message="Bienvenue Alice",
                props={MARKER_PROP: "welcome:1"},
            )  # fmt: skip
        guide = state.create_post(
            user_id=bot["user_id"], channel_id=guides["id"], message="Le guide",
            props={MARKER_PROP: "seed:guide"},
        )  # fmt: skip
        guide["is_pinned"] = True
        state.create_post(
            user_id=bot["user_id"], channel_id=guides["id"], message="Voir aussi la FAQ",
            root_id=guide["id"],
        )  # fmt: skip
        state.create_post(user_id=alice["id"], channel_id=guides["id"], message="Merci !")
    return {"bot": bot, "alice": alice, "team": team, "guides": guides, "dm": dm}


def test_deliveries_are_keyed_by_names_and_markers_and_copies_are_duplicates(
    sandbox: Sandbox,
) -> None:
    scene = _scene(sandbox)
    invitation = _email("alice@example.com", "Votre place vous attend", "Lien", key="invite:1:0")
    mail = [
        invitation,
        invitation,  # the same invitation, delivered twice
        _email("bob@example.com", "Votre place vous attend", "Lien", key="invite:2:0"),
    ]

    ledger = build_ledger(sandbox, mail)

    assert dict(ledger.section("dms").counts) == {"@alice,@envol | welcome:1": 2}
    assert dict(ledger.section("posts").counts) == {"exemple/guides | seed:guide": 1}
    assert dict(ledger.section("pins").counts) == {"exemple/guides | seed:guide": 1}
    (reply,) = ledger.section("unmarked posts").counts
    assert reply.startswith("exemple/guides | seed:guide > envol:")  # Alice's post is not Envol's
    assert "exemple/guides | @alice" in ledger.section("channel memberships").counts
    assert "exemple | @alice" in ledger.section("team memberships").counts
    assert ledger.duplicates() == {
        "e-mails": {"alice@example.com | invite:1:0 | Votre place vous attend": 2},
        "dms": {"@alice,@envol | welcome:1": 2},
    }
    assert ledger.duplicate_count() == 2
    assert ledger.summary().startswith("delivered: 3 e-mails, 2 DMs, 1 post, 1 other post,")
    assert ledger.summary().endswith("— 2 duplicates")
    # No id, which would change from one run to the next, in any key.
    text = json.dumps(ledger.to_json())
    for object_id in (scene["alice"]["id"], scene["dm"]["id"], scene["guides"]["id"]):
        assert object_id not in text


def test_an_email_without_a_key_is_keyed_by_recipient_and_subject(sandbox: Sandbox) -> None:
    mail = [_email("bob@example.com", "Lancement", "Bonjour"), _email("bob@example.com", "X", "")]

    ledger = build_ledger(sandbox, mail)

    # Its random Message-ID would differ from run to run: it is left out of the key.
    assert set(ledger.section("e-mails").counts) == {
        "bob@example.com | - | Lancement",
        "bob@example.com | - | X",
    }


def test_ports_ids_and_signed_tokens_do_not_change_a_digest_but_words_do(
    sandbox: Sandbox,
) -> None:
    def digest_of(body: str) -> str:
        ledger = build_ledger(sandbox, [_email("a@example.com", "S", body, key="k")])
        return ledger.section("e-mails").digests["a@example.com | k | S"]

    first = digest_of(
        "Rejoignez http://127.0.0.1:40123/signup_user_complete/?id=abcdefghijklmnopqrstuvwxyz "
        "ou partez : http://127.0.0.1:40124/u/eyJwIjoiYWxpY2UifQ.Z2k5bw.c2lnbmF0dXJlLWJ5dGVzLWhl"
    )
    second = digest_of(
        "Rejoignez http://127.0.0.1:51999/signup_user_complete/?id=zyxwvutsrqponmlkjihgfedcba "
        "ou partez : http://127.0.0.1:52000/u/eyJwIjoiYWxpY2UifQ.Z2lBdw.b3RoZXItc2lnbmF0dXJlLWJ5"
    )
    assert first == second
    assert digest_of("Rejoignez-nous demain") != digest_of("Rejoignez-nous aujourd'hui")


def test_comparing_names_missing_extra_duplicated_and_changed_deliveries() -> None:
    expected, actual = Ledger(), Ledger()
    expected.section("e-mails").add("bob@example.com | invite:2:0 | S", {"body": "Lien"})
    actual.section("e-mails").add("bob@example.com | invite:2:0 | S", {"body": "Autre lien"})
    for ledger, welcomes in ((expected, 1), (actual, 2)):
        for _ in range(welcomes):
            ledger.section("dms").add("@alice,@envol | welcome:1", "Bienvenue")
    expected.section("dms").add("@bob,@envol | welcome:2", "Bienvenue")
    actual.section("pins").add("exemple/guides | seed:guide")
    actual.section("ephemeral answers").add("@alice | exemple/town-square | try-again")
    expected.section("dialogs").add("@alice | Questionnaire")
    expected.section("dialogs").add("@alice | Questionnaire")
    actual.section("dialogs").add("@alice | Questionnaire")

    described = [d.describe() for d in compare_ledgers(expected, actual)]

    assert described == [
        "e-mails: bob@example.com | invite:2:0 | S — arrived with a different content",
        "dms: @alice,@envol | welcome:1 — duplicated (2×, expected 1×)",
        "dms: @bob,@envol | welcome:2 — missing (expected 1×)",
        "pins: exemple/guides | seed:guide — extra (1×, expected none)",
        "ephemeral answers: @alice | exemple/town-square | try-again — extra (1×, expected none)",
        # Dialogs are a tally (a person may open one twice): a count, never a "duplicate".
        "dialogs: @alice | Questionnaire — 1× instead of 2×",
    ]
    # Only the extra answer is a notice (a fault's "try again"); one dialog fewer is a loss.
    notices = [d.section for d in compare_ledgers(expected, actual) if d.is_notice]
    assert notices == ["ephemeral answers"]
    assert compare_ledgers(expected, expected) == []


def test_a_ledger_reads_back_from_its_file(sandbox: Sandbox, tmp_path: Path) -> None:
    _scene(sandbox)
    ledger = build_ledger(sandbox, [_email("alice@example.com", "S", "Lien", key="invite:1:0")])
    write_ledger(ledger, tmp_path / "ledger.json")

    again = read_ledger(tmp_path / "ledger.json")

    assert compare_ledgers(ledger, again) == []
    assert again.duplicates() == ledger.duplicates()
    assert json.loads((tmp_path / "ledger.json").read_text())["duplicates"] == {
        "dms": {"@alice,@envol | welcome:1": 2}
    }


def test_demo_compare_exits_1_on_a_loss_and_0_when_only_a_notice_differs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from plugin.cli import root
    from plugin.demo import runner
    from plugin.demo.runner import ComparedRuns, StagedOutcome

    def outcome(ledger: Ledger) -> StagedOutcome:
        return StagedOutcome(tmp_path, 20, 7, False, 1.0, ledger, {}, 10)

    clean = Ledger()
    clean.section("dms").add("@alice,@envol | welcome:1", "Bienvenue")
    with_notice = Ledger()
    with_notice.section("dms").add("@alice,@envol | welcome:1", "Bienvenue")
    with_notice.section("ephemeral answers").add("@alice | exemple/town-square | try-again")
    for second, exit_code in ((with_notice, 0), (Ledger(), 1)):
        compared = ComparedRuns(outcome(clean), outcome(second), compare_ledgers(clean, second))
        monkeypatch.setattr(runner, "compare_runs", lambda *a, compared=compared, **k: compared)

        result = CliRunner().invoke(root, ["demo", "--compare", "--faults", "--people", "20"])

        assert result.exit_code == exit_code, result.output
    assert "dms: @alice,@envol | welcome:1 — missing (expected 1×)" in result.output
