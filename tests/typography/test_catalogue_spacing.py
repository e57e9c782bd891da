"""Every French message in every catalogue is written with French typography's no-break
spaces: ``Catalogue.render`` leaves the spacing as written (``finish(spacing=False)``), so a
plain space before ``: ; ! ?`` or inside « » would reach people as is — and a line may then
start with the mark. The project's choice is ``plugin.typography``'s: U+00A0 before ``:``,
U+202F before ``; ! ?`` and inside « »."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from plugin.typography import NBSP, NNBSP, french_spacing

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(
    [*(ROOT / "plugin").rglob("messages.yaml"), *(ROOT / "webhooks").rglob("messages.yaml")]
)


def _shown(text: str) -> str:
    return text.replace(NNBSP, "⍽").replace(NBSP, "°")


def test_every_catalogue_is_checked() -> None:
    found = {str(path.relative_to(ROOT)) for path in CATALOGUES}
    assert {"webhooks/console/messages.yaml", "plugin/cli/messages.yaml"} <= found


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_french_messages_have_no_break_spaces_before_marks_and_in_guillemets(path: Path) -> None:
    catalogue = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    wrong = {
        key: f"{_shown(texts['fr'])!r} should be {_shown(french_spacing(texts['fr']))!r}"
        for key, texts in catalogue.items()
        if french_spacing(str(texts["fr"])) != str(texts["fr"])
    }
    assert not wrong, "plain spaces (⍽ = U+202F, ° = U+00A0 expected):\n" + "\n".join(
        f"{key}: {why}" for key, why in wrong.items()
    )


@pytest.mark.parametrize(
    "text",
    ["Refusé : non", "Une question ?", "« Bonjour »", "Attention!", f"Refusé{NNBSP}: non"],
)
def test_the_check_catches_a_plain_space_or_the_wrong_one(text: str) -> None:
    assert french_spacing(text) != text


def test_the_check_leaves_emoji_links_and_code_alone() -> None:
    for text in ("Salut :wave:", "https://exemple.fr/a?b=1", "`a : b`", f"Refusé{NBSP}: non"):
        assert french_spacing(text) == text
