"""``JSON``: a JSON object as Python sees it (Mattermost's payloads, the sandbox's state)."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]
