"""The FAQ's problems are in the reader's language, with their file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from plugin.errors import ValidationFailed
from plugin.support.faq import FAQ_DIR, load_faq, read_faq


def _plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_a_broken_faq_is_listed_in_french_and_in_english(tmp_path: Path) -> None:
    faq = tmp_path / "faq"
    shutil.copytree(FAQ_DIR, faq)
    (faq / "en" / "find-people.md").unlink()
    entry = faq / "fr" / "find-channels.md"
    entry.write_text(entry.read_text(encoding="utf-8").replace("question:", "questoin:", 1))

    _, problems = read_faq(faq)
    french = [_plain(problem.localized("fr")) for problem in problems]
    english = [problem.localized("en") for problem in problems]

    assert any(
        text.startswith("fr/find-channels.md:") and " : erreur : « question » manque" in text
        for text in french
    ), french
    assert any("clé inconnue « questoin »" in text for text in french), french
    assert any(
        text.startswith(
            "fr/find-people.md:2 : avertissement : « find-people » n'a pas de version en"
        )
        for text in french
    ), french
    assert any(
        text.startswith("fr/find-people.md:2: warning: 'find-people' has no en version")
        for text in english
    ), english

    with pytest.raises(ValidationFailed) as raised:
        load_faq(faq)
    assert _plain(raised.value.localized("fr")).startswith(f"la FAQ dans {faq} : 2 erreurs")
