"""The message catalogues: one mechanism (``plugin.i18n.Catalogue``) for every capability."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import TemplateSyntaxError, UndefinedError

from plugin import i18n
from plugin.errors import ValidationFailed

PLUGIN = Path(i18n.__file__).parent
CATALOGUES = sorted(
    [*PLUGIN.rglob("messages.yaml"), *(PLUGIN.parent / "webhooks").rglob("messages.yaml")]
)


def test_every_capability_catalogue_is_found() -> None:
    found = {path.parent.name for path in CATALOGUES}
    assert {"invitations", "onboarding", "support", "surveys", "reports"} <= found


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parent.name)
def test_catalogue_loads_with_both_languages_and_compiles(path: Path) -> None:
    catalogue = i18n.Catalogue(path)
    assert catalogue.keys
    catalogue.compile_all()  # templates compile at their first use: a broken one fails here


def test_a_broken_template_fails_to_compile(tmp_path: Path) -> None:
    path = tmp_path / "messages.yaml"
    path.write_text("greeting:\n  fr: Bonjour {{ name\n  en: Hello\n", encoding="utf-8")
    catalogue = i18n.Catalogue(path)  # loads: both languages are there

    with pytest.raises(TemplateSyntaxError):
        catalogue.compile_all()
    assert catalogue.render("greeting", "en") == "Hello"


def test_a_missing_language_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "messages.yaml"
    path.write_text("greeting:\n  fr: Bonjour\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as refused:
        i18n.Catalogue(path)
    assert refused.value.problems == ["messages.yaml: greeting: missing language en"]


def test_render_fills_values_and_refuses_missing_ones(tmp_path: Path) -> None:
    path = tmp_path / "messages.yaml"
    path.write_text(
        "votes:\n  fr: '{{ count }} vote(s) {100 %}'\n  en: '{{ count }} vote(s)'\n",
        encoding="utf-8",
    )
    catalogue = i18n.Catalogue(path)
    assert catalogue.render("votes", "fr_CA", count=3) == "3 vote(s) {100 %}"
    assert catalogue.render("votes", "de", count=3) == "3 vote(s) {100 %}"
    assert catalogue.render("votes", "en-GB", count=3) == "3 vote(s)"
    with pytest.raises(UndefinedError):
        catalogue.render("votes", "en")


def test_pick_language_takes_the_first_supported_candidate() -> None:
    assert i18n.pick_language(None, "", "de_DE", "EN-us", "fr") == "en"
    assert i18n.pick_language("de", default="en") == "en"
