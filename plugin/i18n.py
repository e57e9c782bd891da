"""Language helpers shared by every capability: dates written out in French and English.

Babel holds the CLDR data, so month and weekday names never depend on the server's OS locale.
"""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date

LANGUAGES = ("fr", "en")


def long_date(day: dt.date, language: str, *, weekday: bool = False) -> str:
    """``1er mars 2027`` / ``1 March 2027``; with ``weekday``: ``lundi 1er mars 2027``."""
    text = format_date(day, "EEEE d MMMM y" if weekday else "d MMMM y", locale=language)
    if language == "fr" and day.day == 1:
        # French writes the first of the month as an ordinal: « le 1er mars ».
        text = text.replace(" 1 ", " 1er ", 1) if weekday else "1er" + text[1:]
    return text


def weekday_name(day: dt.date, language: str) -> str:
    """``lundi`` / ``Monday``."""
    return format_date(day, "EEEE", locale=language)
