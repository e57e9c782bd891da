"""A ``requests`` transport that hands each request to a WSGI application of this process.

The sandbox demo's simulated people make most of its requests (posts, reactions, dialogs,
sidebar categories). Over the loopback each costs about 1.4 ms of CPU in this process — a
connection, a server thread, HTTP parsed and written twice — against 0.15 ms for the sandbox's
own work, and the demo runs on one core (the GIL). Their requests therefore go straight into the
sandbox's WSGI application: the same routing, authentication, handlers and request log; the
sandbox never faults nor rate-limits a person's request (``PERSON_HEADER``), so nothing a
socket would add is lost. Envol's own requests, and the people's WebSocket, still cross the
network: they are what the demo shows of Envol's link to Mattermost.

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
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
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
