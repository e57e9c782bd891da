"""What every part of the sandbox shares: Mattermost-style ids, times and errors."""

from __future__ import annotations

import random
import re
import secrets
import threading
from typing import Any

from plugin import clock

# Mattermost's NewId(): a UUID encoded in base32 with this alphabet, 26 characters.
ID_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"
SERVER_VERSION = "9.11.0"
BUILD_NUMBER = "9.11.0"


class IdSource:
    """26-character Mattermost-style ids; reproducible when seeded (then runs are comparable)."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed) if seed is not None else None
        self._lock = threading.Lock()

    def new_id(self) -> str:
        if self._random is None:
            return "".join(secrets.choice(ID_ALPHABET) for _ in range(26))
        with self._lock:
            return "".join(self._random.choice(ID_ALPHABET) for _ in range(26))


def now_ms() -> int:
    """Milliseconds since the epoch on Envol's clock (accelerated demos, frozen tests)."""
    return int(clock.now().timestamp() * 1000)


class AppError(Exception):
    """An error answered as Mattermost's AppError JSON body."""

    def __init__(self, status: int, error_id: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.detail = detail

    def body(self, request_id: str, *, developer: bool = False) -> dict[str, Any]:
        """The JSON a client receives. ``detailed_error`` is wiped unless
        ``ServiceSettings.EnableDeveloper`` (``web/handlers.go`` calls ``WipeDetailed``)."""
        return {
            "id": self.error_id,
            "message": self.message,
            "detailed_error": self.detail if developer else "",
            "request_id": request_id,
            "status_code": self.status,
            "is_oauth": False,
        }


def not_found(what: str, error_id: str = "app.sandbox.not_found.app_error") -> AppError:
    return AppError(404, error_id, f"Unable to find the {what}.", f"resource: {what}")


def forbidden(permission: str) -> AppError:
    return AppError(
        403,
        "api.context.permissions.app_error",
        "You do not have the appropriate permissions.",
        f"userId=… permission={permission}",
    )


def invalid_param(name: str) -> AppError:
    return AppError(400, "api.context.invalid_param.app_error", f"Invalid {name} parameter.")


def invalid_url_param(name: str) -> AppError:
    """A malformed id in the path (``web/context.go`` ``Require…Id`` → ``SetInvalidURLParam``)."""
    return AppError(
        400,
        "api.context.invalid_url_param.app_error",
        f"Invalid or missing {name} parameter in request URL.",
    )


def is_valid_id(value: str) -> bool:
    """``model.IsValidId``: 26 letters or digits."""
    return len(value) == 26 and value.isalnum()


def go_parse_bool(value: str) -> bool | None:
    """``strconv.ParseBool``: None when Go would answer an error (callers then use false)."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def go_atoi(value: str | None) -> int | None:
    """``strconv.Atoi``: an optional sign and ASCII digits, else None (an error in Go)."""
    if value is None or not re.fullmatch(r"[+-]?[0-9]+", value):
        return None
    return int(value)


def invalid_body_param(name: str) -> AppError:
    return AppError(
        400,
        "api.context.invalid_body_param.app_error",
        f"Invalid or missing {name} in request body.",
    )


def unauthorized() -> AppError:
    return AppError(
        401,
        "api.context.session_expired.app_error",
        "Invalid or expired session, please login again.",
    )


def license_error(error_id: str) -> AppError:
    return AppError(403, error_id, "This feature requires a Mattermost license.")
