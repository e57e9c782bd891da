"""Pytest plugin: the Mattermost sandbox, and a tiny HTTP receiver standing in for an
integration (a slash command URL, an action URL, a dialog URL)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from plugin.sandbox import Sandbox
from plugin.sandbox.contract import default_spec_path


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    """One sandbox for the session (contract check on); prefer ``sandbox``, which resets it."""
    server = Sandbox.start(contract=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Iterator[Sandbox]:
    """A sandbox with fresh state and the contract check on. The test fails if any request or
    response broke the Mattermost API contract (see ``Sandbox.violation_report``)."""
    sandbox_server.reset()
    if not sandbox_server.contract_enabled:
        sandbox_server.enable_contract()
    yield sandbox_server
    sandbox_server.reset()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    for alive in Sandbox.alive():
        alive.take_invalid_dialogs()  # what an earlier test left is not this test's
    result = yield
    used = getattr(item, "funcargs", {}).get("sandbox")
    if isinstance(used, Sandbox):
        report = used.violation_report()
        if report:
            used.clear_violations()
            pytest.fail(report, pytrace=False)
    # Any sandbox of the process, the demo's included: a dialog Mattermost would only log as
    # invalid fails the test that opened it.
    reports = [r for r in (alive.invalid_dialog_report() for alive in Sandbox.alive()) if r]
    if reports:
        pytest.fail("\n".join(reports), pytrace=False)
    return result


# --------------------------------------------------------------------------- receiver


@dataclass(frozen=True)
class ReceivedCall:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    args: dict[str, str]
    json: Any


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class IntegrationReceiver:
    """Records every call; answers with ``reply(call) -> (status, json_body)``."""

    calls: list[ReceivedCall] = field(default_factory=list)
    reply: Callable[[ReceivedCall], tuple[int, Any]] = lambda call: (200, {})
    url: str = ""
    _server: BaseWSGIServer | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data(cache=True)
        parsed = None
        if request.mimetype == "application/json" and body:
            parsed = json.loads(body)
        call = ReceivedCall(
            request.method,
            request.path,
            dict(request.headers),
            request.form.to_dict(),
            request.args.to_dict(),
            parsed,
        )
        self.calls.append(call)
        status, answer = self.reply(call)
        response = Response(json.dumps(answer), status, content_type="application/json")
        return response(environ, start_response)

    def start(self) -> None:
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def integration_receiver() -> Iterator[IntegrationReceiver]:
    receiver = IntegrationReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


# The contract check needs Mattermost's OpenAPI spec beside the project (../shared/…) or named by
# ENVOL_MM_OPENAPI; without it the sandbox skips the check, and so do the tests about it.
SPEC_PRESENT = default_spec_path().is_file()
needs_spec = pytest.mark.skipif(
    not SPEC_PRESENT, reason=f"no OpenAPI spec at {default_spec_path()}"
)
