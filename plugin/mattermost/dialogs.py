"""Mattermost's limits on an interactive dialog, for the code that builds one.

``Dialog.IsValid`` (``server/public/model/integration_action.go``) counts **UTF-8 bytes** (Go's
``len``): a title and each label at most 24, a help text 150, a ``text`` element's default 150,
a ``textarea``'s 3,000. A dialog over a limit is only logged by the server and may misbehave in
the web app, so builders keep labels short (the long sentence goes to ``help_text``) and clip
pre-filled text with ``fit``. The sandbox checks every dialog it is sent against the same rules
(``plugin/sandbox/dialogs.py``).
"""

from __future__ import annotations

TITLE_MAX_BYTES = 24
LABEL_MAX_BYTES = 24
HELP_TEXT_MAX_BYTES = 150
TEXT_DEFAULT_MAX_BYTES = 150
TEXTAREA_DEFAULT_MAX_BYTES = 3000


def utf8_len(text: str) -> int:
    """What Go's ``len`` counts: the UTF-8 bytes."""
    return len(text.encode("utf-8"))


def fit(text: str, max_bytes: int, *, max_chars: int | None = None) -> str:
    """``text`` cut to at most ``max_chars`` characters and ``max_bytes`` UTF-8 bytes, never in
    the middle of a character."""
    if max_chars is not None:
        text = text[:max_chars]
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")
