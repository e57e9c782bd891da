"""FAQ files and matching: French and English, accents, case, plurals and typos."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.errors import ValidationFailed
from plugin.support.faq import load_faq, normalise, seed_faq, suggest


def test_seed_faq_has_every_slug_in_both_languages() -> None:
    entries = seed_faq()
    by_language = {lang: {e.slug for e in entries if e.language == lang} for lang in ("fr", "en")}
    assert by_language["fr"] == by_language["en"]
    assert len(by_language["fr"]) >= 10


@pytest.mark.parametrize(
    ("text", "language", "slug"),
    [
        ("Je n'arrive pas à changer mes photos de profil", "fr", "profile-picture"),
        ("CHANGER MA PHOTO", "fr", "profile-picture"),
        ("proffil photo", "fr", "profile-picture"),  # a typo
        ("où sont les documents partagés ?", "fr", "find-documents"),
        ("ou sont les documents partages", "fr", "find-documents"),  # no accents
        ("j'ai oublié mon mot de passe", "fr", "password"),
        ("comment rejoindre les canaux de mon équipe", "fr", "find-channels"),  # canaux → canal
        ("I can't find my colleagues", "en", "find-people"),
        ("how to mute notifications", "en", "notifications"),
        ("I forgot my password", "en", "password"),
    ],
)
def test_closest_answer_comes_first(text: str, language: str, slug: str) -> None:
    suggestions = suggest(text, language, seed_faq())  # type: ignore[arg-type]
    assert suggestions and suggestions[0].entry.slug == slug


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("La cantine du site de Lyon est fermée vendredi", "fr"),
        ("the coffee machine is broken", "en"),
        ("", "fr"),
        ("??? !!!", "en"),
    ],
)
def test_unrelated_requests_get_no_suggestion(text: str, language: str) -> None:
    assert suggest(text, language, seed_faq()) == []  # type: ignore[arg-type]


def test_only_entries_in_the_requesters_language_are_offered() -> None:
    suggestions = suggest("photo de profil", "fr", seed_faq())
    assert all(s.entry.language == "fr" for s in suggestions)


def test_normalise_folds_case_accents_elisions_and_plurals() -> None:
    assert normalise("Les Photos d'équipe", "fr") == normalise("la photo d’EQUIPE", "fr")
    assert normalise("colleagues", "en") == normalise("colleague", "en")


@given(st.text(max_size=300))
def test_matching_never_fails(text: str) -> None:
    for language in ("fr", "en"):
        for suggestion in suggest(text, language, seed_faq()):  # type: ignore[arg-type]
            assert 0 <= suggestion.score <= 100


def test_a_bad_faq_file_is_reported_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "fr").mkdir()
    (tmp_path / "en").mkdir()
    (tmp_path / "fr" / "broken.md").write_text("---\nslug: Broken Slug\nquestion: Q?\n---\nA\n")
    (tmp_path / "fr" / "nofront.md").write_text("just text\n")
    with pytest.raises(ValidationFailed) as raised:
        load_faq(tmp_path)
    problems = "\n".join(raised.value.problems)
    assert "fr/broken.md:2: error: slug:" in problems and "[slug]" in problems
    assert "fr/broken.md:3: error: question:" in problems and "[question]" in problems
    assert "fr/nofront.md:1: error: no YAML front matter" in problems
