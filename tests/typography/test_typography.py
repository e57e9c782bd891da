"""French typography and grammar for generated text; numbers and dates by locale."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2
import pytest

from plugin.typography import NBSP, NNBSP, day, finish, french_spacing, mark_values, number, percent

_ENV = jinja2.Environment(finalize=mark_values, autoescape=False)


def _render(source: str, language: str = "fr", **values: object) -> str:
    return finish(_ENV.from_string(source).render(**values), language)


@pytest.mark.parametrize(
    ("source", "value", "expected"),
    [
        ("les équipes de {{ v }}", "Exemple SA", "les équipes d'Exemple SA"),
        ("De {{ v }} à vous", "Orbite", "D'Orbite à vous"),
        ("ce que {{ v }} change", "Envol", "ce qu'Envol change"),
        ("le site de {{ v }}", "Île-de-France", "le site d'Île-de-France"),
        ("les équipes de {{ v }}", "Kappa", "les équipes de Kappa"),
        ("puisque {{ v }} ouvre", "Yggdrasil", "puisqu'Yggdrasil ouvre"),
        ("garde de Orbite et {{ v }}", "Orbite", "garde de Orbite et Orbite"),  # people's words
    ],
)
def test_french_elides_only_before_a_substituted_value(
    source: str, value: str, expected: str
) -> None:
    assert _render(source, v=value) == expected


def test_english_is_left_as_written() -> None:
    assert _render("the teams of {{ v }}: hello!", "en", v="Exemple SA") == (
        "the teams of Exemple SA: hello!"
    )


def test_no_break_spaces_before_french_marks() -> None:
    text = french_spacing("Une question ? Le canal : ~support ; à bientôt !")
    assert text == f"Une question{NNBSP}? Le canal{NBSP}: ~support{NNBSP}; à bientôt{NNBSP}!"
    assert french_spacing("« Bonjour »") == f"«{NNBSP}Bonjour{NNBSP}»"
    assert french_spacing("Bonjour!") == f"Bonjour{NNBSP}!"


@pytest.mark.parametrize(
    "text",
    [
        "Voir https://chat.exemple.fr/equipe?onglet=1 et `a : b`",
        "Salut :wave: à tous",
        "| :--- | :---: |",
        "```\nclé : valeur ?\n```",
        "[le guide](https://exemple.fr/guide?x=1)",
        "10:00 à 16:00",
    ],
)
def test_links_code_emoji_and_tables_are_left_alone(text: str) -> None:
    assert french_spacing(text) == text


def test_numbers_percentages_and_dates_follow_the_locale() -> None:
    assert number(1500, "fr") == f"1{NNBSP}500"
    assert number(1500, "en") == "1,500"
    assert number(12.5, "fr") == "12,5"
    assert percent(0.125, "fr", digits=1) == f"12,5{NBSP}%"
    assert percent(0.125, "en", digits=1) == "12.5%"
    assert day(dt.date(2027, 3, 1), "fr") == "1er mars 2027"
    assert day(dt.date(2027, 3, 1), "en") == "1 March 2027"


def test_message_catalogues_elide_in_french(tmp_path: Path) -> None:
    from plugin.i18n import Catalogue

    path = tmp_path / "messages.yaml"
    path.write_text(
        "welcome:\n  fr: 'Les équipes de {{ company }} : bienvenue'\n"
        '  en: "{{ company }}\'s teams: welcome"\n',
        encoding="utf-8",
    )
    catalogue = Catalogue(path)
    assert catalogue.render("welcome", "fr", company="Exemple SA") == (
        "Les équipes d'Exemple SA : bienvenue"
    )
    assert catalogue.render("welcome", "en", company="Exemple SA") == "Exemple SA's teams: welcome"
