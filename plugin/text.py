"""Text helpers every layer shares."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from typing import IO, Any


def strip_accents(text: str) -> str:
    """``"Prénom Éloïse"`` → ``"Prenom Eloise"``: compatibility-decomposed (NFKD, so ``ﬁ`` is
    ``fi``), combining marks dropped; the case is kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# --------------------------------------------------------------------------- CSV for spreadsheets

# What a spreadsheet reads as the start of a formula (OWASP "CSV injection"): ``=HYPERLINK(…)``,
# ``+cmd|…``, ``@SUM(…)``, and tab or carriage return, which some split a cell on.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet cannot run: text that would start a formula gets a
    leading ``'`` (shown as typed, OWASP's advice); numbers, including negative ones, stay."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


class SpreadsheetSafeWriter:
    """``csv.writer`` whose every cell goes through ``spreadsheet_safe``."""

    def __init__(self, handle: IO[str], **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([spreadsheet_safe(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(handle: IO[str], **options: Any) -> SpreadsheetSafeWriter:
    """The one way Envol writes CSV (reports, exports, the demo's roster): formulas disarmed."""
    return SpreadsheetSafeWriter(handle, **options)


# --------------------------------------------------------------------------- Markdown to post

# A mention is ``@`` after a non-word character (so ``jean@exemple.fr`` is none), as the server
# finds them (``\B@[[:alnum:]]…``): ``@all``, ``@channel``, ``@here`` or anyone's username.
_MENTION = re.compile(r"(?<!\w)@(?=\w)")
_LINK_SYNTAX = re.compile(r"([\\\[\]])")
ZERO_WIDTH_SPACE = "\u200b"


def inert_markdown(text: str) -> str:
    """``text`` typed by a person (a ticket, an answer, a name), made safe to post as Markdown
    by Envol's bot: no ``@mention`` notifies anyone (a zero-width space follows the ``@``, which
    still reads as one), and ``[label](url)`` or ``![](url)`` stays text, so nobody can post a
    link whose label pretends to come from Envol. A bare URL is still linked by Mattermost: it
    shows where it leads."""
    return _MENTION.sub("@" + ZERO_WIDTH_SPACE, _LINK_SYNTAX.sub(r"\\\1", text))
