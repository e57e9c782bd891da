"""The sandbox's request log: what was asked, by whom, with what outcome and how long it took."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    route: str  # the API template, e.g. "/api/v4/teams/{team_id}/members/batch"; "" if unknown
    status: int  # 0 when the connection was dropped without an answer
    duration_ms: float
    user_id: str  # "" when unauthenticated
    fault: str  # "", "error", "drop", "timeout", "rate_limited"

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


class RequestLog:
    """Thread-safe, append-only; iterate it, or count with filters."""

    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def append(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.entries())

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def count(
        self,
        method: str | None = None,
        route: str | None = None,
        *,
        path_prefix: str | None = None,
        status: int | None = None,
        user_id: str | None = None,
        writes_only: bool = False,
    ) -> int:
        """How many requests match every filter given (``route`` is the API template)."""
        return sum(
            1
            for entry in self.entries()
            if (method is None or entry.method == method.upper())
            and (route is None or entry.route == route)
            and (path_prefix is None or entry.path.startswith(path_prefix))
            and (status is None or entry.status == status)
            and (user_id is None or entry.user_id == user_id)
            and (not writes_only or entry.is_write)
        )

    def writes(self, route: str | None = None) -> int:
        """Requests that may change state (POST, PUT, PATCH, DELETE)."""
        return self.count(route=route, writes_only=True)
