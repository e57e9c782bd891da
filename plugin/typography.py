"""French typography and grammar for generated text, and numbers and dates by locale.

Templates put names into sentences (``de {{ company }}``, ``que {{ platform }}``): French
elides the article or preposition before a vowel (« d'Exemple SA », « qu'Orbite »), which a
template cannot know in advance. French also puts a non-breaking space before ``: ; ? !``, so
that a line never starts with the mark. Both are done here, once, for every text Envol
generates in French:

* ``mark_values`` is Jinja's ``finalize``: every substituted value starts with an invisible
  marker, so ``elide`` changes only the words written just before a substituted value — never
  a human's own sentence;
* ``french_spacing`` turns the space before ``: ; ? !`` (and inside « ») into U+202F
  (narrow no-break space; U+00A0 before ``:``, as French printers do), leaving code, links,
  emoji codes (``:wave:``) and Markdown tables alone.

Numbers and dates come from Babel's CLDR data: ``1 500`` / ``1,500``, ``12,5 %`` / ``12.5%``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

NNBSP = "\u202f"  # narrow no-break space: before ; ? ! and inside « »
NBSP = "\u00a0"  # no-break space: before :

# Put before every substituted value by ``mark_values``; removed by ``finish``.
VALUE_MARK = "\u2063"  # INVISIBLE SEPARATOR: never typed by people

_VOWEL = "aeiouyàâäéèêëîïôöùûüœæAEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŒÆ"
# Words French elides before a vowel: "de" -> "d'", "que" -> "qu'"…
_ELIDABLE = ("de", "que", "le", "la", "je", "me", "te", "se", "ne", "jusque", "lorsque", "puisque")
_VOWEL_SET = frozenset(_VOWEL)
_LONGEST_ELIDABLE = max(len(word) for word in _ELIDABLE)
# The last word of a text (up to ``endpos``), when French elides it.
_ELIDABLE_WORD = re.compile(rf"(?<![\w'’])(?:{'|'.join(_ELIDABLE)})\Z", re.IGNORECASE)


def mark_values(value: Any) -> Any:
    """Jinja ``finalize``: marks where a substituted value starts (see ``elide``)."""
    if value is None or value == "":
        return value
    return f"{VALUE_MARK}{value}"


def elides_before(value: str) -> bool:
    """Whether French elides the word written before ``value`` (« de » + « Anne » -> « d'Anne »)."""
    return value[:1] in _VOWEL if value else False


def elide(text: str) -> str:
    """« de » + marked value starting with a vowel -> « d' »; the marks are kept.

    Only the words just before a mark can change, so only those are looked at: a search of
    the whole text, tried at every position, cost 40 µs a message."""
    if VALUE_MARK not in text:
        return text  # nothing substituted: nothing to elide
    pieces = text.split(VALUE_MARK)
    for index in range(1, len(pieces)):
        if pieces[index][:1] not in _VOWEL_SET:
            continue
        before = pieces[index - 1]
        word_end = len(before.rstrip())
        if word_end == len(before):
            continue  # no space between the word and the value: nothing to elide
        # The lookbehind sees the text before ``pos``: a word glued to another is not one.
        if _ELIDABLE_WORD.search(before, max(0, word_end - _LONGEST_ELIDABLE), word_end):
            pieces[index - 1] = before[: word_end - 1] + "'"
    return VALUE_MARK.join(pieces)


# A space before : ; ? ! — not an emoji code (:wave:), a Markdown table rule (| :--- |) or a
# URL's own colon (https:// has no space before it).
_BEFORE_MARK = re.compile(r"[ \u00a0\u202f]+([;?!]|:(?![\w+\-]+:)(?![-:]))")
_NO_SPACE_BEFORE = re.compile(r"(?<=[\w»)\]*_])([;?!])(?=\s|$)")
# With U+202F itself: typesetting text already typeset changes nothing.
_GUILLEMETS_OPEN = re.compile(r"«[ \u00a0\u202f]*")
_GUILLEMETS_CLOSE = re.compile(r"[ \u00a0\u202f]*»")
# Code spans, fenced code and links' targets are never touched.
_PROTECTED = re.compile(r"```.*?```|`[^`\n]*`|\]\([^)]*\)|<[^>\s]+>|https?://\S+", re.DOTALL)


def _space_line(text: str) -> str:
    text = _BEFORE_MARK.sub(lambda m: (NBSP if m.group(1) == ":" else NNBSP) + m.group(1), text)
    text = _NO_SPACE_BEFORE.sub(lambda m: NNBSP + m.group(1), text)
    text = _GUILLEMETS_OPEN.sub("«" + NNBSP, text)
    return _GUILLEMETS_CLOSE.sub(NNBSP + "»", text)


def french_spacing(text: str) -> str:
    """No-break spaces where French typography wants them, outside code and links."""
    parts: list[str] = []
    position = 0
    for match in _PROTECTED.finditer(text):
        parts.append(_space_line(text[position : match.start()]))
        parts.append(match.group(0))
        position = match.end()
    parts.append(_space_line(text[position:]))
    return "".join(parts)


def finish(text: str, language: str, *, spacing: bool = True) -> str:
    """The last step of every generated text: French typography, then the marks removed.
    ``spacing=False`` elides only (for texts whose spacing is checked elsewhere as written)."""
    if language == "fr":
        text = elide(text)
        if spacing:
            text = french_spacing(text)
    return text.replace(VALUE_MARK, "")


def typeset(text: str, language: str) -> str:
    """``finish`` for a text without marks: spacing only (no value is known to elide)."""
    return finish(text, language)


def number(value: float, language: str) -> str:
    """``1 500`` / ``1,500``; ``12,5`` / ``12.5``."""
    return format_decimal(value, locale=language)


def percent(ratio: float, language: str, *, digits: int = 0) -> str:
    """``ratio`` (0.125) as ``12,5 %`` / ``12.5%``, with at most ``digits`` decimals."""
    pattern = "#,##0" + ("." + "#" * digits if digits else "") + "%"
    if language == "fr":
        pattern = pattern.replace("%", "\u00a0%")
    return format_percent(ratio, format=pattern, locale=language)


def day(value: dt.date, language: str) -> str:
    """``1er mars 2027`` / ``1 March 2027``."""
    text = format_date(value, "d MMMM y", locale=language)
    if language == "fr" and value.day == 1:
        text = "1er" + text[1:]
    return text
