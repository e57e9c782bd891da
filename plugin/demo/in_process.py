"""A ``requests`` transport that hands each request to a WSGI application of this process.

The sandbox demo runs on one core (the GIL), and over the loopback each request cost about
1.4 ms of CPU in this process — a connection, a server thread, HTTP parsed and written twice —
against 0.15 ms for the sandbox's own work (0.47 ms a call in process, measured with Envol's
client on ``GET /users/me``). So two callers hand their requests straight to the sandbox's WSGI
application — the same routing, authentication, handlers, request log, rate limit and faults:

* the simulated people (posts, reactions, dialogs, sidebar categories), whom the sandbox never
  faults nor rate-limits (``PERSON_HEADER``);
* Envol in the demo's own process: the launch cycle (``World.envol_transport``: invitations,
  welcomes, nudges, digests, surveys, snapshots) and the webhooks' integrations. A connection
  the sandbox drops on purpose (``--faults``) reaches the client as
  ``requests.ConnectionError``, as a reset socket does.

And the other way, the sandbox's calls to Envol's webhooks (a person's slash command, button
or dialog) reach the Flask application in process (``Sandbox.integrations``).

What still crosses the network, as in production: the worker process's requests, the
sandbox's calls to the support step's own webhooks, a browser's, and the people's WebSocket.

werkzeug builds the WSGI environ and runs the application (``werkzeug.test``); this adapter
only translates between ``requests``' prepared request and response and those.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

WsgiApp = Callable[[dict[str, Any], Any], Any]


def session_into(app: WsgiApp, base_url: str) -> requests.Session:
    """A session whose requests under ``base_url`` go to ``app`` (others to the network)."""
    session = requests.Session()
    session.trust_env = False  # no proxy nor .netrc to look up for an application in process
    session.mount(f"{base_url.rstrip('/')}/", WsgiAdapter(app))
    return session


class WsgiAdapter(BaseAdapter):
    """Mount on a ``requests.Session`` for the application's base URL."""

    def __init__(self, app: WsgiApp) -> None:
        super().__init__()
        self.app = app

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        body = request.body
        builder = EnvironBuilder(
            path=url.path,
            base_url=f"{url.scheme}://{url.netloc}",
            query_string=url.query,
            method=request.method or "GET",
            headers=list(request.headers.items()),
            data=body.encode("utf-8") if isinstance(body, str) else body,
            # As a loopback client: the sandbox's rate limit keys on the client's address.
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        try:
            app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
        except ConnectionAbortedError as error:
            # The application hung up (the sandbox's injected drop): what a client sees of a
            # reset connection, after the request may have been applied.
            raise requests.ConnectionError(
                f"connection aborted by the server: {error}", request=request
            ) from error
        try:
            content = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        response = requests.Response()
        code, _, reason = status.partition(" ")
        response.status_code = int(code)
        response.reason = reason
        response.headers = CaseInsensitiveDict(headers.items())
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = content
        response.url = request.url or ""
        response.request = request
        response.connection = self  # type: ignore[assignment]  # requests types it HTTPAdapter
        return response

    def close(self) -> None:
        pass  # no connection to let go
