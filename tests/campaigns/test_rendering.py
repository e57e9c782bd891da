from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import pytest

from plugin.campaigns.plan import Template
from plugin.campaigns.rendering import (
    _EMPHASIS,
    _LINK,
    HtmlForMany,
    PersonView,
    _finished_impersonal_subject,
    markdown_to_html,
    markdown_to_text,
    render,
)
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


# --------------------------------------------------------------------------- HtmlForMany


def _template(body: str, language: str = "fr") -> Template:
    return Template(language, "t.md", Path("t.md"), "Pour {{ person.first_name }}", 2, body, 4)


def _person(first_name: str, last_name: str = "Lefèvre", department: str = "") -> PersonView:
    return PersonView(first_name, last_name, department, "", "fr", "member")


def _context(person: PersonView, manager: PersonView | None = None) -> dict[str, object]:
    return {
        "person": person,
        "manager": manager,
        "sender": {"name": "L'équipe", "email": "l@exemple.fr", "title": ""},
        "company": "Exemple SA",
    }


BODIES = {
    "greeting": "Bonjour {{ person.first_name }},\n\n**Chez {{ company }}**, un message.\n",
    "elision": "Le message de {{ person.first_name }} et de {{ person.last_name }} !\n",
    "emphasis": "_{{ person.first_name }}_ et **{{ person.display_name }}**\n",
    "link target": "[profil](https://x.example/{{ person.first_name }})\n",
    "code fence": "```{{ person.first_name }}\ncode\n```\n",
    "list": "{{ person.first_name }}. suite\n\n- {{ person.department }}\n",
    "test on a value": "{% if person.department %}Service {{ person.department }}{% endif %}\n",
    "comparison": "{% if person.first_name == 'Anne' %}Chère Anne{% else %}Bonjour{% endif %}\n",
    "filter": "{{ person.first_name | upper }} {{ person.first_name }}\n",
    "whole variable": "{% if manager %}{{ manager.first_name }}{% endif %}, {{ person.site }}\n",
    "sender": "{{ sender.name }} pour {{ person.first_name }}\n",
}
NAMES = [
    "Zoé", "Anne", "Élodie", "Jean-Pierre", "Marie Claire", "Marie  Claire", "O'Neil", "Zoé12",
    "*Bob*", "<b>x</b>", "A&B", "1. Un", "Hélène_", "x", "Yves", "Amélie ?", "Œdipe", "hé", "",
]  # fmt: skip


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_html_for_many_is_markdown_to_html_of_each_recipients_body(body: str) -> None:
    template, many = _template(body), HtmlForMany()
    for first_name in NAMES:
        for person in (_person(first_name), _person(first_name, "de la Tour", "Ventes")):
            context = _context(person, manager=_person("Ariane"))
            rendered = render(template, context)

            html = many.html(template, context, rendered)

            assert html == markdown_to_html(
                rendered.markdown, title=rendered.subject, language="fr"
            ), (first_name, person.last_name)


def test_html_for_many_runs_markdown_it_once_per_shape_of_the_body() -> None:
    template, many = _template(BODIES["elision"]), HtmlForMany()
    people = [_person(f"{first}{n}") for n in range(50) for first in ("Zoé", "Anne")]

    for person in people:
        context = _context(person)
        html = many.html(template, context, render(template, context))
        assert person.first_name in html

    # One shape per initial (elided "d'Anne…" or not "de Zoé…"), the last name always the same.
    assert many.markdown_renders == 2


def test_html_for_many_renders_every_body_whose_placeholders_markdown_changes() -> None:
    template, many = _template(BODIES["link target"]), HtmlForMany()

    for first_name in ("Zoé", "Anne", "Yves"):
        context = _context(_person(first_name))
        many.html(template, context, render(template, context))

    assert many.markdown_renders == 3 + 2  # each recipient, and the two skeletons that failed


def test_html_for_many_keeps_a_bounded_number_of_skeletons() -> None:
    template, many = _template("Service {{ person.department }}\n"), HtmlForMany()
    many.MAX_SHAPES = 3
    departments = [f"R&D {n}" for n in range(6)]  # not plain words: each one is a shape

    for department in departments:
        context = _context(_person("Zoé", department=department))
        rendered = render(template, context)
        assert many.html(template, context, rendered) == rendered.html

    assert many.markdown_renders == 3 + 3  # three skeletons, then three bodies of their own


def test_jinja_globals_stay_available_to_templates() -> None:
    # Compiled templates hold their globals as a plain dict (rendering.py): Jinja's own
    # (``range``, ``namespace``…) must still be there.
    template = _template(
        "{% set seen = namespace(n=0) %}{% for i in range(3) %}{% set seen.n = seen.n + i %}"
        "{% endfor %}{{ seen.n }} pour {{ person.first_name }}\n"
    )
    person = PersonView("Zoé", "Lefèvre", "", "", "fr", "employee")
    rendered = render(template, {"person": person})
    assert rendered.subject == "Pour Zoé"
    assert rendered.markdown == "3 pour Zoé\n"


@pytest.mark.parametrize(
    "markdown",
    [
        "Bonjour Zoé,\n\nÀ lundi.\n",
        "**Gras** et __gras__, sans lien\n",
        "[l'app](https://x.example/app) sans emphase\n",
        "[https://x.example](https://x.example) et **fin**\n",
        "_[_](_)x_[_](_) : les liens seuls font naître une emphase\n",
    ],
)
def test_the_text_part_skips_only_the_patterns_a_body_cannot_hold(markdown: str) -> None:
    # markdown_to_text scans for links and emphasis only when their signs are there: the same
    # text as always applying both substitutions.
    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        return url if label == url else f"{label} ({url})"

    always = _EMPHASIS.sub(r"\2", _LINK.sub(link, markdown))
    assert markdown_to_text(markdown) == always


def test_only_subjects_that_name_no_one_are_kept_once_typeset() -> None:
    person = PersonView("Zoé", "Lefèvre", "", "", "fr", "employee")
    personal = _template("Corps\n")  # its subject is "Pour {{ person.first_name }}"
    impersonal = replace(personal, subject="Le lancement de {{ company }} : bientôt")
    context = {"person": person, "company": "Exemple SA"}
    assert render(personal, context).subject == "Pour Zoé"
    assert render(impersonal, context).subject == "Le lancement d'Exemple SA\u00a0: bientôt"
    kept = _finished_impersonal_subject.cache_info().currsize
    render(personal, {**context, "person": replace(person, first_name="Anne")})
    assert _finished_impersonal_subject.cache_info().currsize == kept  # no name was kept
