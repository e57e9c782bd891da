from __future__ import annotations

import datetime as dt

import pytest

from plugin.campaigns.rendering import markdown_to_html, markdown_to_text
from plugin.i18n import long_date


@pytest.mark.parametrize(
    ("day", "language", "expected"),
    [
        (dt.date(2027, 3, 1), "fr", "lundi 1er mars 2027"),
        (dt.date(2027, 8, 15), "fr", "dimanche 15 août 2027"),
        (dt.date(2027, 3, 1), "en", "Monday 1 March 2027"),
    ],
)
def test_long_dates_without_the_os_locale(day: dt.date, language: str, expected: str) -> None:
    assert long_date(day, language, weekday=True) == expected


@pytest.mark.parametrize(
    ("day", "language", "expected"),
    [
        (dt.date(2027, 3, 1), "fr", "1er mars 2027"),
        (dt.date(2027, 3, 2), "fr", "2 mars 2027"),
        (dt.date(2027, 3, 1), "en", "1 March 2027"),
    ],
)
def test_long_dates_without_the_weekday(day: dt.date, language: str, expected: str) -> None:
    assert long_date(day, language) == expected


def test_text_part_spells_links_out_and_drops_emphasis() -> None:
    text = markdown_to_text("**Installez** [l'app](https://x.example/app) : https://y.example")
    assert text == "Installez l'app (https://x.example/app) : https://y.example"


def test_html_part_escapes_markup_from_names() -> None:
    html = markdown_to_html("Bonjour <b>Zoé</b> & co", title="Un <titre>", language="fr")
    assert "&lt;b&gt;Zoé&lt;/b&gt; &amp; co" in html
    assert "<title>Un &lt;titre&gt;</title>" in html and '<html lang="fr">' in html
