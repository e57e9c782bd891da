"""Text from people and files, written where it could act: CSV cells a spreadsheet would run."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from plugin.reports import csv_export
from plugin.security.service import Signer
from plugin.support.models import SupportTicket, TicketCategory, TicketStatus
from plugin.support.service import ticket_props
from plugin.text import inert_markdown, spreadsheet_safe

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("https://evil.example","x")', '\'=HYPERLINK("https://evil.example","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-12.5", "-12.5"),  # a negative number stays a number
        ("+33", "+33"),
        ("Marie-Claire", "Marie-Claire"),
        (-3, -3),
        ("", ""),
    ],
)
def test_cells_that_would_start_a_formula_are_disarmed(value: object, written: object) -> None:
    assert spreadsheet_safe(value) == written


def test_the_report_csv_writes_formulas_as_text(tmp_path: Path) -> None:
    path = tmp_path / "spaces.csv"
    csv_export._write(
        path, ["channel_name", "posts_7d"], [['=HYPERLINK("x")', 3], ["@SUM(A1)", -2]]
    )
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["channel_name", "posts_7d"], ['\'=HYPERLINK("x")', "3"], ["'@SUM(A1)", "-2"]]


def test_every_csv_envol_writes_goes_through_the_one_safe_writer() -> None:
    writers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("plugin", "webhooks")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"csv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))
    ]
    assert writers == ["plugin/text.py"]


# --------------------------------------------------------------------------- Markdown to post


@pytest.mark.parametrize(
    ("typed", "mentions"),
    [
        ("@all venez voir", []),
        ("Merci @channel, et @here aussi", []),
        ("@jean.dupont peut m'aider ?", []),
        ("écrire à jean@exemple.fr", []),  # an address is no mention
    ],
)
def test_typed_text_mentions_nobody(typed: str, mentions: list[str]) -> None:
    safe = inert_markdown(typed)
    # The server's rule: "@" after a non-word character, then a username character.
    assert re.findall(r"(?<!\w)@(\w[\w.\-]*)", safe) == mentions
    assert safe.replace("\u200b", "") == typed  # it still reads the same


def test_typed_text_cannot_carry_a_disguised_link() -> None:
    typed = "[Message officiel d'Envol](https://evil.example/login) ![](https://evil.example/t.png)"
    safe = inert_markdown(typed)
    assert "](" not in safe.replace("\\]", "")
    assert safe == (
        "\\[Message officiel d'Envol\\](https://evil.example/login) "
        "!\\[\\](https://evil.example/t.png)"
    )


def test_a_ticket_post_shows_the_requesters_text_without_mentions_or_links() -> None:
    ticket = SupportTicket(
        id=7,
        requester_user_id="r" * 26,
        category=TicketCategory.QUESTION,
        description="@all urgent : [réinitialisez ici](https://evil.example) svp",
        language="fr",
        status=TicketStatus.ANSWERED,
        answer="@channel voir [la page](https://evil.example)",
        answered_by="a" * 26,
        vote_count=0,
    )
    props = ticket_props(ticket, Signer("k" * 40), "https://envol.example", {})
    text = props["attachments"][0]["text"]
    assert "@\u200ball urgent" in text and "@\u200bchannel voir" in text
    assert "\\[réinitialisez ici\\](https://evil.example)" in text
    assert "\\[la page\\]" in text
