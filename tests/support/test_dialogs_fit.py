"""Every dialog of the support space fits Mattermost's ``Dialog.IsValid``, in French and in
English, with the longest text each can be pre-filled with (accents count two bytes)."""

from __future__ import annotations

from typing import Any

import pytest

from plugin.sandbox.dialogs import dialog_problems, go_len
from plugin.security.service import Signer
from plugin.support.dialogs import FAQ_QUESTION_MAX, answer_dialog, faq_dialog, support_dialog
from plugin.support.models import TicketCategory
from plugin.support.service import MAX_DESCRIPTION

SIGNER = Signer("a-secret-key-of-at-least-16")
USER = "u" * 26
LONGEST = "é" * MAX_DESCRIPTION  # 3,000 characters, 6,000 bytes


def _dialogs(language: str) -> dict[str, dict[str, Any]]:
    return {
        "support": support_dialog(SIGNER, USER, language),
        "support prefilled": support_dialog(SIGNER, USER, language, description=LONGEST),
        "idea": support_dialog(
            SIGNER, USER, language, category=TicketCategory.IDEA, description=LONGEST
        ),
        "ticket answer": answer_dialog(SIGNER, USER, language, 7, LONGEST),
        "faq entry": faq_dialog(SIGNER, USER, language, 7, "é" * FAQ_QUESTION_MAX, LONGEST),
    }


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    "name", ["support", "support prefilled", "idea", "ticket answer", "faq entry"]
)
def test_the_dialog_fits_mattermost(name: str, language: str) -> None:
    dialog = _dialogs(language)[name]
    assert dialog_problems(dialog) == []
    assert go_len(dialog["title"]) <= 24


@pytest.mark.parametrize("language", ["fr", "en"])
def test_prefilled_text_is_cut_on_a_character_not_in_one(language: str) -> None:
    faq = _dialogs(language)["faq entry"]
    question, answer = (e["default"] for e in faq["elements"])
    assert question == "é" * FAQ_QUESTION_MAX  # 300 characters, 600 bytes: all of it
    assert answer == "é" * 1500  # 3,000 bytes, not 3,000 characters
    described = _dialogs(language)["support prefilled"]["elements"][1]["default"]
    assert described == "é" * 1500
