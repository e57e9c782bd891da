"""Mattermost's errors, translated into Envol's own.

Callers never see a ``requests`` or ``mattermostdriver`` exception: every failure becomes one of
these, carrying what the server said (``message``), its error id (``error_id``, e.g.
``api.context.permissions.app_error``), the HTTP status and the server's ``request_id``, so an
admin can find the request in the server log.
"""

from __future__ import annotations

from plugin.errors import EnvolError


class MattermostError(EnvolError):
    """A request to Mattermost failed; subclasses say how."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_id: str = "",
        request_id: str = "",
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.error_id = error_id
        self.request_id = request_id
        self.method = method
        self.path = path

    def __str__(self) -> str:
        where = f"{self.method} {self.path}".strip()
        parts = [self.message]
        if where:
            parts.append(f"({where}")
            parts[-1] += f", HTTP {self.status_code})" if self.status_code else ")"
        if self.error_id:
            parts.append(f"[{self.error_id}]")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)


class Invalid(MattermostError):
    """400 (or 413): the request was refused as malformed or too large; fix the input."""


class Unauthorized(MattermostError):
    """401: the token is missing, wrong or revoked; set ENVOL_MATTERMOST_TOKEN."""

    def __str__(self) -> str:
        # What the server says ("Invalid or expired session, please login again.") is about a
        # browser session; the admin must learn which setting to fix.
        return (
            f"Mattermost refused the token in ENVOL_MATTERMOST_TOKEN ({super().__str__()}): "
            "set it to a valid personal access token of Envol's bot or admin account."
        )


class Forbidden(MattermostError):
    """403: the token's account lacks a permission for this action."""


class NotFound(MattermostError):
    """404: the object does not exist (or the token may not see it)."""


class Conflict(MattermostError):
    """409: the object already exists or changed concurrently."""


class FeatureNeedsLicense(MattermostError):
    """The feature exists but this server has no licence for it (Team Edition)."""


class FeatureDisabled(MattermostError):
    """501 without a licence hint: the feature is turned off in the server's config."""


class Retryable(MattermostError):
    """A transient failure (429, 5xx, connection error, timeout) worth retrying later."""


class MattermostUnavailable(Retryable):
    """Retries were exhausted within the retry budget; the server is down or overloaded."""


__all__ = [
    "Conflict",
    "FeatureDisabled",
    "FeatureNeedsLicense",
    "Forbidden",
    "Invalid",
    "MattermostError",
    "MattermostUnavailable",
    "NotFound",
    "Retryable",
    "Unauthorized",
]
