"""Every workaround for mattermostdriver 7.3.2's defects, in one place (each has a test).

1. ``Client.make_request`` sends a GET for any method but post/put/delete (so PATCH silently
   becomes a GET), uses no timeout by default, opens a new connection per call (module-level
   ``requests.get``), raises bare ``HTTPError`` for 429/5xx, never retries, and logs the error
   body. ``EnvolDriverClient`` replaces it: every driver call goes through our ``Transport``.
2. ``Commands.update_command``, ``delete_command`` and ``generate_new_token`` build
   ``/commands<ID>`` (no slash): ``DriverFixes.update_command`` and friends use the right path.
3. Methods that take only ``options`` cannot send query parameters
   (``add_multiple_users_to_team``, ``invite_users_to_team_by_mail``: no ``?graceful=true``):
   ``DriverFixes.post_with_params``.
4. The websocket builds ``ssl.create_default_context(purpose=Purpose.CLIENT_AUTH)``, a
   *server* context, so every ``wss://`` connection fails on Python ≥ 3.10, and its connect
   loop retries forever: ``TLSFixedWebsocket`` uses a client context and bounded retries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import websockets
from mattermostdriver.client import Client
from mattermostdriver.websocket import Websocket

from plugin.mattermost.transport import NO_BODY, Transport, parse_body

log = logging.getLogger("envol.mattermost")


class EnvolDriverClient(Client):
    """The driver's ``Client`` with its transport replaced by ours (fix 1)."""

    _transport: Transport

    @classmethod
    def bound_to(cls, transport: Transport) -> type[EnvolDriverClient]:
        """A subclass carrying ``transport`` (the driver instantiates ``client_cls(options)``)."""
        return type("BoundEnvolDriverClient", (cls,), {"_transport": transport})

    @staticmethod
    def driver_options(url: str, token: str, *, timeout: float, verify: bool) -> dict[str, Any]:
        """The driver's options dict for ``url``, with a request timeout set."""
        parts = urlsplit(url)
        scheme = parts.scheme or "https"
        return {
            "scheme": scheme,
            "url": parts.hostname or "localhost",
            "port": parts.port or (443 if scheme == "https" else 80),
            "basepath": parts.path.rstrip("/") + "/api/v4",
            "token": token,
            "verify": verify,
            "request_timeout": timeout,
        }

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.token = options.get("token") or ""

    def make_request(
        self,
        method: str,
        endpoint: str,
        options: Any = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        basepath: str | None = None,
    ) -> requests.Response:
        # The driver passes options=None when there is no body; send none rather than "{}".
        return self._transport.request(
            method,
            endpoint,
            json=NO_BODY if options is None else options,
            params=params,
            data=data,
            files=files,
        )

    def get(self, endpoint: str, options: Any = None, params: Any = None) -> Any:
        return parse_body(self.make_request("get", endpoint, options=options, params=params))

    def post(
        self,
        endpoint: str,
        options: Any = None,
        params: Any = None,
        data: Any = None,
        files: Any = None,
    ) -> Any:
        response = self.make_request("post", endpoint, options, params, data, files)
        return parse_body(response)

    def put(self, endpoint: str, options: Any = None, params: Any = None, data: Any = None) -> Any:
        return parse_body(self.make_request("put", endpoint, options, params, data))

    def delete(
        self, endpoint: str, options: Any = None, params: Any = None, data: Any = None
    ) -> Any:
        return parse_body(self.make_request("delete", endpoint, options, params, data))

    def patch(self, endpoint: str, options: Any = None, params: Any = None) -> Any:
        """What the driver lacks: a real PATCH."""
        return parse_body(self.make_request("patch", endpoint, options, params))


class DriverFixes:
    """Calls the driver gets wrong, done right through the same transport (fixes 2 and 3)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def post_with_params(
        self, path: str, body: Any, params: Mapping[str, Any], *, idempotent: bool
    ) -> Any:
        """A POST with a query string, which the driver's options-only methods cannot send."""
        return self._transport.call("post", path, json=body, params=params, idempotent=idempotent)

    def patch(self, path: str, body: Any) -> Any:
        """A real PATCH (the driver would send a GET)."""
        return self._transport.call("patch", path, json=body)

    def update_command(self, command: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /commands/{id}`` (the driver builds ``/commands<id>``)."""
        result: dict[str, Any] = self._transport.call(
            "put", f"/commands/{command['id']}", json=dict(command)
        )
        return result

    def delete_command(self, command_id: str) -> None:
        """``DELETE /commands/{id}`` (the driver builds ``/commands<id>``)."""
        self._transport.call("delete", f"/commands/{command_id}")

    def regenerate_command_token(self, command_id: str) -> str:
        """``PUT /commands/{id}/regen_token`` (the driver builds ``/commands<id>/regen_token``)."""
        answer = self._transport.call("put", f"/commands/{command_id}/regen_token")
        return str(answer["token"])


def client_tls_context(verify: bool = True) -> ssl.SSLContext:
    """The TLS context a websocket *client* needs (fix 4): SERVER_AUTH purpose."""
    context = ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class TLSFixedWebsocket(Websocket):
    """The driver's websocket with a client TLS context and a bounded number of attempts.

    Pass it as ``driver.init_websocket(handler, websocket_cls=TLSFixedWebsocket)``.
    """

    max_attempts = 5

    def url(self) -> str:
        scheme = "wss://" if self.options["scheme"] == "https" else "ws://"
        return (
            f"{scheme}{self.options['url']}:{self.options['port']}"
            f"{self.options['basepath']}/websocket"
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.options["scheme"] != "https":
            return None
        return client_tls_context(bool(self.options.get("verify", True)))

    async def connect(self, event_handler: Callable[[str], Awaitable[Any]]) -> None:
        self._alive = True
        failures = 0
        while self._alive:
            try:
                kw_args = dict(self.options.get("websocket_kw_args") or {})
                kw_args["ssl"] = self.ssl_context()  # one ssl= only: no TypeError on collision
                async with websockets.connect(self.url(), **kw_args) as websocket:
                    failures = 0
                    await self._authenticate_websocket(websocket, event_handler)
                    while self._alive:
                        try:
                            await self._start_loop(websocket, event_handler)
                        except websockets.ConnectionClosedError:
                            break
                if not self.options.get("keepalive"):
                    return
            except (OSError, websockets.WebSocketException, json.JSONDecodeError) as error:
                failures += 1
                if failures >= self.max_attempts:
                    raise
                log.warning("websocket connection failed (%s); retrying", type(error).__name__)
                await asyncio.sleep(self.options.get("keepalive_delay", 5))
