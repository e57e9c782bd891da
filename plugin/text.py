"""Text helpers every layer shares."""

from __future__ import annotations

import unicodedata


def strip_accents(text: str) -> str:
    """``"Prénom Éloïse"`` → ``"Prenom Eloise"``: compatibility-decomposed (NFKD, so ``ﬁ`` is
    ``fi``), combining marks dropped; the case is kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))
