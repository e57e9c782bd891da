"""Helpers for the sandbox's own tests: plain ``requests`` against the running sandbox."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from plugin.sandbox import Sandbox


class Api:
    """A thin ``requests`` client: ``api.get("/users/me")`` → the Response."""

    def __init__(self, sandbox: Sandbox, token: str | None) -> None:
        self.base = f"{sandbox.url}/api/v4"
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def admin(sandbox: Sandbox) -> Api:
    return Api(sandbox, sandbox.admin_token)


@pytest.fixture
def team(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.create_team("acme", "Acme", admin_id=sandbox.admin_user_id)


def as_api(sandbox: Sandbox, user_id: str) -> Api:
    return Api(sandbox, sandbox.create_token(user_id))


def take_violations(sandbox: Sandbox) -> list[str]:
    """The violations recorded so far, cleared: for tests that break the contract on purpose."""
    found = [str(v) for v in sandbox.violations]
    sandbox.clear_violations()
    return found
