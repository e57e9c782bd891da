"""The launch survey's dialog fits Mattermost's ``Dialog.IsValid`` in French and English: short
labels (24 bytes), each question's full sentence as its help text."""

from __future__ import annotations

import pytest

from plugin.sandbox.dialogs import dialog_problems, go_len
from plugin.security.service import Signer
from plugin.surveys.models import SurveyResponse
from plugin.surveys.service import MAX_COMMENT, QUESTIONS, survey_dialog, text

SIGNER = Signer("a-secret-key-of-at-least-16")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_survey_dialog_fits_mattermost(language: str) -> None:
    previous = SurveyResponse(
        user_id="u" * 26, wave_key=0, comment="é" * MAX_COMMENT,
        **{name: 3 for name in QUESTIONS},
    )  # fmt: skip
    for dialog in (
        survey_dialog(SIGNER, "u" * 26, 1, language),
        survey_dialog(SIGNER, "u" * 26, 1, language, previous),
    ):
        assert dialog_problems(dialog) == []
        labels = [e["display_name"] for e in dialog["elements"]]
        assert all(go_len(label) <= 24 for label in labels)
        helps = [e["help_text"] for e in dialog["elements"][: len(QUESTIONS)]]
        assert helps == [text(f"question.{name}", language) for name in QUESTIONS]
