"""``GET /api/v4/websocket``: the events a person's app receives, as the server sends them.

A real Mattermost delivers an opened dialog and an ephemeral post *only* over the WebSocket, so
a client that reads them anywhere else could not run against a real server. The sandbox speaks
the same protocol (server source: ``platform/web_conn.go``, ``platform/websocket_router.go``,
``model/websocket_message.go``):

- the connection authenticates with the ``Authorization`` header of the upgrade request, or
  afterwards with ``{"seq": 1, "action": "authentication_challenge", "data": {"token": …}}``,
  answered ``{"status": "OK", "seq_reply": 1}``; a wrong token closes the connection;
- once authenticated it receives ``hello`` (``server_version``, ``connection_id``);
- every event is ``{"event", "data", "broadcast": {omit_users, user_id, channel_id, team_id,
  connection_id, omit_connection_id}, "seq"}`` with ``seq`` counted per connection from 0;
- ``open_dialog``: ``data.dialog`` is the OpenDialogRequest (``trigger_id``, ``url``,
  ``dialog``) as a JSON **string** (``app/integration_action.go`` ``OpenInteractiveDialog``);
- ``ephemeral_message``: ``data.post`` is the post as a JSON **string**, broadcast to one user
  in one channel (``app/post.go`` ``SendEphemeralPost``);
- ``posted``: ``data.post`` (a JSON string), ``channel_type``, ``channel_name``,
  ``channel_display_name``, ``sender_name`` (``@username``), ``team_id``, ``set_online``, to the
  channel's members (``app/notification.go`` ``SendNotifications``; ``mentions`` is left out);
- a request ``{"seq": n, "action": …}`` is answered ``{"status": "OK"|"FAIL", "seq_reply": n}``
  on the same connection after the events already sent to it; ``get_statuses`` answers the
  statuses, an unknown action ``api.web_socket_router.bad_action.app_error``.

Each connection is served by the werkzeug thread of its upgrade request; events are written by
the thread that publishes them (an API handler), under the connection's own lock, so an event
published while answering a person's HTTP call is on the wire before that answer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simple_websocket import ConnectionClosed, Server

from plugin.jsontypes import JSON
from plugin.sandbox.core import AppError

log = logging.getLogger(__name__)

WEBSOCKET_PATH = "/api/v4/websocket"
# How often a connection's thread looks up from its socket to notice a closed connection.
_POLL_SECONDS = 0.5


def _daemon_thread(target: Callable[[], None]) -> threading.Thread:
    """simple-websocket's reader thread; a daemon so an abandoned client cannot hold the
    process open."""
    return threading.Thread(target=target, daemon=True)


@dataclass
class Connection:
    """One person's app: its socket, its user once authenticated, its event counter."""

    ws: Server
    connection_id: str
    user_id: str = ""
    sequence: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send_event(self, event: str, data: JSON, broadcast: JSON) -> None:
        with self.lock:
            message = {"event": event, "data": data, "broadcast": broadcast, "seq": self.sequence}
            self.sequence += 1
            with contextlib.suppress(ConnectionClosed, OSError):
                self.ws.send(json.dumps(message, separators=(",", ":")))

    def send_response(self, seq_reply: int, data: JSON | None = None) -> None:
        body: JSON = {"status": "OK", "seq_reply": seq_reply}
        if data is not None:
            body["data"] = data
        self._send(body)

    def send_error(self, seq_reply: int, error: AppError) -> None:
        self._send({"status": "FAIL", "seq_reply": seq_reply, "error": error.body("")})

    def _send(self, body: JSON) -> None:
        with self.lock, contextlib.suppress(ConnectionClosed, OSError):
            self.ws.send(json.dumps(body, separators=(",", ":")))

    def close(self) -> None:
        with self.lock, contextlib.suppress(ConnectionClosed, OSError):
            self.ws.close()


def broadcast(*, user_id: str = "", channel_id: str = "", team_id: str = "") -> JSON:
    """``model.WebsocketBroadcast`` as the server marshals it."""
    return {
        "omit_users": None,
        "user_id": user_id,
        "channel_id": channel_id,
        "team_id": team_id,
        "connection_id": "",
        "omit_connection_id": "",
    }


class EventHub:
    """The authenticated connections and the events published to them."""

    def __init__(self) -> None:
        self._connections: list[Connection] = []
        self._lock = threading.Lock()

    def register(self, connection: Connection) -> None:
        with self._lock:
            self._connections.append(connection)

    def unregister(self, connection: Connection) -> None:
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)

    def connections_of(self, user_id: str) -> list[Connection]:
        with self._lock:
            return [c for c in self._connections if c.user_id == user_id]

    def publish_to_user(
        self, user_id: str, event: str, data: JSON, *, channel_id: str = ""
    ) -> None:
        """An event for one user's apps (``broadcast.user_id``): every connection they have."""
        shape = broadcast(user_id=user_id, channel_id=channel_id)
        for connection in self.connections_of(user_id):
            connection.send_event(event, data, shape)

    def publish_to_channel(
        self,
        channel_id: str,
        is_member: Callable[[str], bool],
        event: str,
        data: JSON,
        *,
        team_id: str = "",
    ) -> None:
        """An event for a channel's members (``broadcast.channel_id``): every connected app
        whose user ``is_member`` of it."""
        shape = broadcast(channel_id=channel_id, team_id=team_id)
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            if is_member(connection.user_id):
                connection.send_event(event, data, shape)

    def close_all(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()


class WebSocketSession:
    """Serves one upgraded connection until it closes; ``authenticate(token)`` answers the
    user id of a valid token (or None), ``statuses(user_ids)`` the statuses a person asks for."""

    def __init__(
        self,
        hub: EventHub,
        *,
        authenticate: Callable[[str], str | None],
        statuses: Callable[[list[str] | None], JSON],
        server_version: str,
        connection_id: str,
    ) -> None:
        self.hub = hub
        self._authenticate = authenticate
        self._statuses = statuses
        self._server_version = server_version
        self._connection_id = connection_id

    def serve(self, environ: dict[str, Any], header_user_id: str) -> None:
        ws = Server.accept(environ, thread_class=_daemon_thread)
        connection = Connection(ws, self._connection_id)
        try:
            if header_user_id:
                self._welcome(connection, header_user_id)
            while ws.connected:
                try:
                    raw = ws.receive(timeout=_POLL_SECONDS)
                except ConnectionClosed:
                    break
                if raw is not None:
                    self._handle(connection, raw)
        finally:
            self.hub.unregister(connection)
            connection.close()

    def _welcome(self, connection: Connection, user_id: str) -> None:
        connection.user_id = user_id
        self.hub.register(connection)
        connection.send_event(
            "hello",
            {"server_version": self._server_version, "connection_id": self._connection_id},
            broadcast(user_id=user_id),
        )

    def _handle(self, connection: Connection, raw: str | bytes) -> None:
        try:
            request = json.loads(raw)
        except ValueError:
            connection.close()  # web_conn.go: a frame that is not JSON ends the connection
            return
        if not isinstance(request, dict):
            connection.close()
            return
        action = request.get("action")
        seq = request.get("seq")
        seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else 0
        if not action:
            connection.send_error(seq, _router_error("no_action", 400))
        elif seq <= 0:
            connection.send_error(seq, _router_error("bad_seq", 400))
        elif action == "authentication_challenge":
            self._challenge(connection, seq, request.get("data"))
        elif not connection.user_id:
            connection.send_error(seq, _router_error("not_authenticated", 401))
        elif action == "get_statuses":
            connection.send_response(seq, self._statuses(None))
        elif action == "get_statuses_by_ids":
            data = request.get("data")
            ids = data.get("user_ids") if isinstance(data, dict) else None
            wanted = [str(i) for i in ids] if isinstance(ids, list) else []
            connection.send_response(seq, self._statuses(wanted))
        else:
            connection.send_error(seq, _router_error("bad_action", 500))

    def _challenge(self, connection: Connection, seq: int, data: Any) -> None:
        if connection.user_id:
            return  # already authenticated: the server ignores a second challenge
        token = data.get("token") if isinstance(data, dict) else None
        user_id = self._authenticate(token) if isinstance(token, str) and token else None
        if not user_id:
            connection.close()
            return
        self._welcome(connection, user_id)
        connection.send_response(seq)


def _router_error(kind: str, status: int) -> AppError:
    return AppError(status, f"api.web_socket_router.{kind}.app_error", kind.replace("_", " "))
