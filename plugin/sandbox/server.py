"""The running sandbox: a threaded werkzeug server, the request pipeline and the Python API."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import socket
import threading
import time
import weakref
from pathlib import Path
from typing import Any, ClassVar

import requests
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from plugin.jsontypes import JSON
from plugin.sandbox import (
    api_channels,
    api_directory,
    api_integrations,
    api_people,
    api_posts,
    api_system,
)
from plugin.sandbox.api_posts import post_for_client
from plugin.sandbox.contract import (
    ContractChecker,
    ContractViolation,
    Exchange,
    default_spec_path,
    report_absent_spec_once,
)
from plugin.sandbox.core import (
    BUILD_NUMBER,
    SERVER_VERSION,
    AppError,
    IdSource,
    forbidden,
    invalid_url_param,
    is_valid_id,
    now_ms,
    unauthorized,
)
from plugin.sandbox.limits import FaultInjector, FaultPlan, GcraLimiter
from plugin.sandbox.requestlog import LoggedRequest, RequestLog
from plugin.sandbox.routing import ROUTES, Call, RouteSpec, build_map
from plugin.sandbox.state import SandboxState
from plugin.sandbox.websocket import WEBSOCKET_PATH, EventHub, WebSocketSession

# A person's calls carry this header (``plugin.demo.person`` sends it): the faults and the rate
# limit aimed at Envol's connection (``set_faults``, ``set_rate_limit``) do not hit people, who
# use their own devices.
PERSON_HEADER = "X-Sandbox-Person"

log = logging.getLogger(__name__)

# The handler modules register their routes on import; keep them referenced.
_HANDLER_MODULES = (
    api_system,
    api_people,
    api_directory,
    api_channels,
    api_posts,
    api_integrations,
)


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the sandbox keeps its own request log.

    HTTP/1.0 (one request per connection) on purpose: werkzeug's server does not drain a body
    the handler did not read (an injected fault answers before reading it), and on a kept-alive
    connection those bytes would be parsed as the next request, pairing answers with the wrong
    requests. Set explicitly: werkzeug switches a threaded server's handler to HTTP/1.1 unless
    the class itself names a version.
    """

    protocol_version = "HTTP/1.0"
    # TCP_NODELAY: an answer, or a WebSocket event followed by a reply, is several small
    # writes; with Nagle's algorithm the second waits for the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            log.error(message, *args)


class _DroppedConnection(ConnectionAbortedError):
    """Raised after closing the socket, so werkzeug treats it as a dropped connection."""


# Path parameters the server checks with model.IsValidId (web/context.go Require…Id): a malformed
# one is a 400 before any permission or lookup. "me" stands for the session's user.
ID_PARAMS = ("user_id", "team_id", "channel_id", "post_id", "command_id", "bot_user_id",
             "bookmark_id", "file_id")  # fmt: skip


def _check_path_ids(params: dict[str, str]) -> None:
    for name in ID_PARAMS:
        value = params.get(name)
        if value is None or (name == "user_id" and value == "me"):
            continue
        if not is_valid_id(value):
            raise invalid_url_param(name)


def _request_id() -> str:
    return base64.b32encode(os.urandom(16)).decode("ascii").lower()[:26]


class Sandbox:
    """A stand-in Mattermost server; see the package docstring for the whole API."""

    # Every sandbox alive in the process, so a test hook can check them all (invalid dialogs).
    _alive: ClassVar[weakref.WeakSet[Sandbox]] = weakref.WeakSet()

    def __init__(
        self,
        *,
        seed: int | None = None,
        contract: bool = True,
        spec_path: Path | None = None,
        licensed: bool = False,
        config: JSON | None = None,
        user_limits: tuple[int, int] = (5000, 11000),
    ) -> None:
        self.seed = seed
        self._initial_licensed = licensed
        self._initial_config = config or {}
        self._user_limits = user_limits
        self.request_log = RequestLog()
        self.violations: list[ContractViolation] = []
        self._violations_lock = threading.Lock()
        self.contract_status = "off"
        self._checker: ContractChecker | None = None
        if contract:
            self.enable_contract(spec_path)
        self._rate_limiter: GcraLimiter | None = None
        self._faults: FaultInjector | None = None
        self._map = build_map()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.state: SandboxState
        self.admin_user_id = ""
        self.admin_token = ""
        # The people's apps connected over GET /api/v4/websocket (plugin/sandbox/websocket.py).
        self.events = EventHub()
        # The server's HTTP client for integrations (slash commands, buttons, dialogs): one
        # pool of connections, as the server's. A transport mounted on it reaches an
        # application of this process (the demo's webhooks: ``plugin.demo.in_process``).
        self.integrations = requests.Session()
        self.integrations.trust_env = False  # loopback integrations: no proxy to look up
        self._build_state()
        Sandbox._alive.add(self)

    @classmethod
    def alive(cls) -> list[Sandbox]:
        """The sandboxes of this process that have not been garbage-collected."""
        return list(cls._alive)

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def start(cls, port: int = 0, *, host: str = "127.0.0.1", **options: Any) -> Sandbox:
        """Build a sandbox and serve it from a background thread; ``.url`` is then set."""
        sandbox = cls(**options)
        sandbox.serve_in_thread(host=host, port=port)
        return sandbox

    def bind(self, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
        """Listen (``.url`` is then known) without serving yet; OSError if the port is taken."""
        server = make_server(
            host, port, self.wsgi_app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://{host}:{server.server_port}"
        self.state.config["ServiceSettings"]["SiteURL"] = self.url
        self._server = server
        return server

    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> None:
        server = self.bind(host, port)
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.1,), name="envol-sandbox", daemon=True
        )
        self._thread.start()

    def serve_forever(self, host: str = "127.0.0.1", port: int = 8065) -> None:
        """Serve in the calling thread until interrupted (``envol sandbox``); binds first
        unless ``bind`` was called."""
        server = self._server or self.bind(host, port)
        try:
            server.serve_forever()
        finally:
            server.server_close()

    def stop(self) -> None:
        self.events.close_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
        self.integrations.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Fresh state (a new admin and token), empty log, no violations, no limits or faults;
        the connected apps are disconnected (their sessions are gone with the state)."""
        self.events.close_all()
        self._build_state()
        if self.url:
            self.state.config["ServiceSettings"]["SiteURL"] = self.url
        self.request_log.clear()
        self.clear_violations()
        self._rate_limiter = None
        self._faults = None

    def _build_state(self) -> None:
        state = SandboxState(
            ids=IdSource(self.seed), licensed=self._initial_licensed, user_limits=self._user_limits
        )
        state.patch_config(self._initial_config, from_api=False)
        admin = state.create_user(
            username="sysadmin",
            email="sysadmin@sandbox.test",
            roles="system_admin system_user",
            first_name="System",
            last_name="Admin",
        )
        self.state = state
        self.admin_user_id = admin["id"]
        self.admin_token = state.new_token(admin["id"])

    # ------------------------------------------------------------------ contract

    def enable_contract(self, spec_path: Path | None = None) -> bool:
        """Validate every exchange against the spec; False (and one warning) if it is absent."""
        path = spec_path or default_spec_path()
        if not path.is_file():
            report_absent_spec_once(path)
            self._checker = None
            self.contract_status = f"skipped: no spec at {path}"
            return False
        self._checker = ContractChecker(path)
        self.contract_status = f"on ({path})"
        return True

    def disable_contract(self) -> None:
        self._checker = None
        self.contract_status = "off"

    @property
    def contract_enabled(self) -> bool:
        return self._checker is not None

    def clear_violations(self) -> None:
        with self._violations_lock:
            self.violations.clear()

    def violation_report(self) -> str:
        with self._violations_lock:
            found = list(self.violations)
        if not found:
            return ""
        lines = [
            f"{len(found)} Mattermost API contract violation(s) (spec: {self.contract_status}):"
        ]
        lines += [f"  - {v}" for v in found]
        lines.append(
            "Fix the request or the sandbox's answer; if the 2023 spec is known to lag "
            "the real server here, add a KnownGap with its reason in "
            "plugin/sandbox/contract.py."
        )
        return "\n".join(lines)

    # ------------------------------------------------------------------ limits and faults

    def set_rate_limit(
        self, per_sec: float | None, burst: int = 100, clock: Any = time.monotonic
    ) -> None:
        """Emulate ``RateLimitSettings`` (GCRA keyed by client address); None turns it off."""
        with self.state.lock:
            settings = self.state.config["RateLimitSettings"]
            if per_sec is None:
                self._rate_limiter = None
                settings["Enable"] = False
                return
            self._rate_limiter = GcraLimiter(per_sec, burst, now=clock)
            settings.update({"Enable": True, "PerSec": per_sec, "MaxBurst": burst})

    def set_faults(
        self,
        error_rate: float = 0.0,
        latency: float = 0.0,
        drop_rate: float = 0.0,
        *,
        timeout_rate: float = 0.0,
        timeout_seconds: float = 5.0,
        seed: int = 0,
        apply_then_fail: bool = False,
        error_statuses: tuple[int, ...] = (500, 503),
    ) -> None:
        """Inject faults into /api/v4 calls, deterministically for a given seed and order."""
        self._faults = FaultInjector(
            error_rate=error_rate,
            drop_rate=drop_rate,
            timeout_rate=timeout_rate,
            latency=latency,
            timeout_seconds=timeout_seconds,
            seed=seed,
            apply_then_fail=apply_then_fail,
            error_statuses=error_statuses,
        )

    def clear_faults(self) -> None:
        self._faults = None

    def set_license(self, licensed: bool) -> None:
        with self.state.lock:
            self.state.licensed = licensed

    def patch_config(self, patch: JSON) -> None:
        """Change the config as an operator would in config.json (may set EnableUploads)."""
        with self.state.lock:
            self.state.patch_config(patch, from_api=False)

    # ------------------------------------------------------------------ scene setting

    def create_user(
        self, username: str | None = None, email: str | None = None, **fields: Any
    ) -> JSON:
        """Create a user directly (no HTTP); returns the user JSON."""
        with self.state.lock:
            if username is None:
                username = f"user{len(self.state.users)}x{self.state.ids.new_id()[:6]}"
            email = email or f"{username}@sandbox.test"
            return dict(self.state.create_user(username=username, email=email, **fields))

    def create_token(self, user_id: str) -> str:
        with self.state.lock:
            return self.state.new_token(user_id)

    def make_system_admin(self, user_id: str) -> None:
        with self.state.lock:
            user = self.state.user(user_id)
            if "system_admin" not in user["roles"].split():
                user["roles"] = "system_admin system_user"
                user["update_at"] = now_ms()

    def create_bot(
        self,
        username: str,
        display_name: str = "",
        description: str = "",
        owner_id: str | None = None,
    ) -> JSON:
        """A bot account (a user with ``is_bot``); get a token with ``create_token``."""
        with self.state.lock:
            user = self.state.create_user(
                username=username,
                email=f"{username}@localhost",
                is_bot=True,
                first_name=display_name,
            )
            stamp = now_ms()
            bot = {
                "user_id": user["id"],
                "username": user["username"],
                "display_name": display_name,
                "description": description,
                "owner_id": owner_id or self.admin_user_id,
                "create_at": stamp,
                "update_at": stamp,
                "delete_at": 0,
            }
            self.state.bots[user["id"]] = bot
            return dict(bot)

    def create_team(
        self,
        name: str,
        display_name: str | None = None,
        type: str = "O",
        admin_id: str | None = None,
        allowed_domains: str = "",
    ) -> JSON:
        with self.state.lock:
            return dict(
                self.state.create_team(
                    name=name,
                    display_name=display_name or name.title(),
                    type=type,
                    creator_id=admin_id or "",
                    allowed_domains=allowed_domains,
                )
            )

    def add_team_member(self, team_id: str, user_id: str, admin: bool = False) -> JSON:
        with self.state.lock:
            return dict(self.state.add_team_member(team_id, user_id, admin=admin))

    def create_channel(
        self,
        team_id: str,
        name: str,
        display_name: str | None = None,
        type: str = "O",
        creator_id: str = "",
    ) -> JSON:
        with self.state.lock:
            return dict(
                self.state.create_channel(
                    team_id=team_id,
                    name=name,
                    display_name=display_name or name.title(),
                    type=type,
                    creator_id=creator_id,
                )
            )

    def add_channel_member(self, channel_id: str, user_id: str) -> JSON:
        with self.state.lock:
            return dict(self.state.add_channel_member(channel_id, user_id))

    def channel_by_name(self, team_id: str, name: str) -> JSON:
        with self.state.lock:
            for channel in self.state.channels.values():
                if channel["team_id"] == team_id and channel["name"] == name:
                    return dict(channel)
        raise KeyError(f"no channel {name!r} in team {team_id}")

    def set_status(self, user_id: str, status: str | None) -> None:
        """Force a status (online, away, dnd, offline); None goes back to last activity."""
        with self.state.lock:
            if status is None:
                self.state.statuses.pop(user_id, None)
            else:
                self.state.statuses[user_id] = {"status": status}

    # ------------------------------------------------------------------ people signing up

    def send_ephemeral(
        self,
        *,
        user_id: str,
        channel_id: str,
        message: str,
        props: JSON | None,
        sender_id: str,
        root_id: str = "",
    ) -> JSON:
        with self.state.lock:
            self.state.channel(channel_id)
            stamp = now_ms()
            post = {
                "id": self.state.ids.new_id(),
                "create_at": stamp,
                "update_at": stamp,
                "edit_at": 0,
                "delete_at": 0,
                "is_pinned": False,
                "user_id": sender_id,
                "channel_id": channel_id,
                "root_id": root_id,
                "original_id": "",
                "message": message,
                "type": "system_ephemeral",
                "props": props or {},
                "hashtags": "",
                "file_ids": [],
                "pending_post_id": "",
                "metadata": {},
            }
            self.state.ephemeral_posts.append({"user_id": user_id, "post": post})
        # SendEphemeralPost: the post reaches the person's apps only, as a JSON string.
        self.events.publish_to_user(
            user_id,
            "ephemeral_message",
            {"post": json.dumps(post_for_client(post), separators=(",", ":"))},
            channel_id=channel_id,
        )
        return post

    def publish_posted(self, post: JSON) -> None:
        """``SendNotifications``' ``posted`` event to the channel's members; call it with the
        state lock held, right after the post is stored."""
        state = self.state
        channel = state.channel(post["channel_id"])
        sender = state.users.get(post["user_id"], {})
        data = {
            "channel_display_name": channel.get("display_name", ""),
            "channel_name": channel.get("name", ""),
            "channel_type": channel.get("type", ""),
            "post": json.dumps(post_for_client(post), separators=(",", ":")),
            "sender_name": f"@{sender.get('username', '')}",
            "set_online": True,
            "team_id": channel.get("team_id", ""),
        }
        self.events.publish_to_channel(
            channel["id"],
            lambda user_id: (channel["id"], user_id) in state.channel_members,
            "posted",
            data,
        )

    def react(
        self, user_id: str, post_id: str, emoji_name: str, *, check_access: bool = True
    ) -> JSON:
        with self.state.lock:
            post = self.state.post(post_id)
            if check_access and self.state.channel_member(post["channel_id"], user_id) is None:
                raise forbidden("add_reaction")
            existing = self.state.reactions.get((user_id, post_id, emoji_name))
            if existing is not None:
                return dict(existing)
            reaction = {
                "user_id": user_id,
                "post_id": post_id,
                "emoji_name": emoji_name,
                "create_at": now_ms(),
            }
            self.state.reactions[(user_id, post_id, emoji_name)] = reaction
            post["has_reactions"] = True
            post["update_at"] = now_ms()
            return dict(reaction)

    # ------------------------------------------------------------------ inspection

    def posts_in(self, channel_id: str, include_deleted: bool = False) -> list[JSON]:
        """The channel's posts, oldest first (stored form: integrations included)."""
        with self.state.lock:
            return sorted(
                (
                    dict(p)
                    for p in self.state.posts_of_channel(channel_id)
                    if include_deleted or not p["delete_at"]
                ),
                key=lambda p: p["create_at"],
            )

    def ephemeral_for(self, user_id: str) -> list[JSON]:
        with self.state.lock:
            return [dict(e["post"]) for e in self.state.ephemeral_posts if e["user_id"] == user_id]

    def dialogs_for(self, user_id: str) -> list[Any]:
        with self.state.lock:
            return [d for d in self.state.opened_dialogs if d.user_id == user_id]

    def errors_shown_to(self, user_id: str) -> list[str]:
        """The server's messages this person's app showed for failed commands, buttons and
        dialogs (the integration's own answer to a non-200 is never shown)."""
        with self.state.lock:
            return [e.message for e in self.state.shown_errors if e.user_id == user_id]

    def take_invalid_dialogs(self) -> list[Any]:
        """The dialogs opened since the last call that break ``Dialog.IsValid``, then forget
        them (tests that open one on purpose take it, so the test hook does not fail them)."""
        with self.state.lock:
            found = list(self.state.invalid_dialogs)
            self.state.invalid_dialogs.clear()
        return found

    def invalid_dialog_report(self) -> str:
        """Empty when every dialog opened was valid; else what to fix, dialog by dialog."""
        found = self.take_invalid_dialogs()
        if not found:
            return ""
        lines = [f"{len(found)} dialog(s) broke Mattermost's Dialog.IsValid:"]
        for opened in found:
            title = opened.dialog.get("title", "")
            lines.append(f"  - {opened.dialog.get('callback_id', '')!r} ({title!r}):")
            lines += [f"      {problem}" for problem in opened.problems]
        lines.append(
            "The server only logs this and the web app may misbehave: shorten the text (limits "
            "in plugin/sandbox/dialogs.py, counted in UTF-8 bytes); long labels go to help_text."
        )
        return "\n".join(lines)

    def team_member_ids(self, team_id: str) -> set[str]:
        with self.state.lock:
            return {
                uid
                for (tid, uid), m in self.state.team_members.items()
                if tid == team_id and not m["delete_at"]
            }

    def channel_member_ids(self, channel_id: str) -> set[str]:
        with self.state.lock:
            return {uid for (cid, uid) in self.state.channel_members if cid == channel_id}

    # ------------------------------------------------------------------ the pipeline

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        request = Request(environ)
        if request.path == WEBSOCKET_PATH and request.method == "GET":
            return self._websocket(environ, request, start_response)
        request_id = _request_id()
        path = request.path
        spec: RouteSpec | None = None
        params: dict[str, str] = {}
        user_id = ""
        fault = ""
        headers: dict[str, str] = {}
        if self._checker is not None:
            request.get_data(cache=True)  # keep the body for both the handler and the check
        try:
            # Binding by hand skips werkzeug's URL reconstruction, a good share of the cost.
            endpoint, arguments = self._map.bind("sandbox").match(path, request.method)
            params = dict(arguments)
            spec = ROUTES[int(endpoint)]
        except RequestRedirect as redirect:
            response: Response = redirect.get_response(environ)
        except (NotFound, MethodNotAllowed) as error:
            code = error.code or 404
            response = self._error_response(
                AppError(
                    code,
                    "api.context.404.app_error" if code == 404 else "api.context.405.app_error",
                    "Sorry, we could not find the page." if code == 404 else "Method not allowed.",
                ),
                request_id,
            )
        else:
            response = self._limited_and_faulty(environ, request, spec, params, request_id, headers)
            fault = headers.pop("_fault", "")
            user_id = headers.pop("_user", "")
        for key, value in headers.items():
            response.headers[key] = value
        response.headers["X-Request-Id"] = request_id
        response.headers["X-Version-Id"] = (
            f"{SERVER_VERSION}.{BUILD_NUMBER}.sandbox.{str(self.state.licensed).lower()}"
        )
        route = spec.template if spec else ""
        if self._checker is not None and path.startswith("/api/v4/"):
            self._check_contract(request, response, route)
        request.close()  # uploaded files are spooled to temporary files
        self.request_log.append(
            LoggedRequest(
                request.method,
                path,
                route,
                response.status_code,
                (time.perf_counter() - started) * 1000,
                user_id,
                fault,
            )
        )
        return response(environ, start_response)

    def _websocket(self, environ: dict[str, Any], request: Request, start_response: Any) -> Any:
        """``connectWebSocket``: a token in the header must be valid (401 otherwise); without
        one the app authenticates over the socket. People's apps are never faulted or limited
        (like ``PERSON_HEADER`` calls): the events are what a person sees, not Envol's link."""
        request_id = _request_id()
        with self.state.lock:
            header_user = self._authenticate(request)
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if header_user == "" or not upgrade:
            error = (
                unauthorized()
                if header_user == ""
                else AppError(400, "api.web_socket.connect.upgrade.app_error", "Failed to upgrade.")
            )
            response = self._error_response(error, request_id)
            return response(environ, start_response)
        self.request_log.append(
            LoggedRequest("GET", request.path, WEBSOCKET_PATH, 101, 0.0, header_user or "", "")
        )
        session = WebSocketSession(
            self.events,
            authenticate=self._user_of_token,
            statuses=self._statuses_for_socket,
            server_version=f"{SERVER_VERSION}.{BUILD_NUMBER}",
            connection_id=_request_id(),
        )
        session.serve(environ, header_user or "")
        # The socket was the response: werkzeug must not write one after it.
        raise _DroppedConnection("the WebSocket connection ended")

    def _user_of_token(self, token: str) -> str | None:
        with self.state.lock:
            user_id = self.state.tokens.get(token.strip())
            if user_id is None or self.state.users[user_id]["delete_at"]:
                return None
            self.state.touch(user_id)
            return user_id

    def _statuses_for_socket(self, user_ids: list[str] | None) -> JSON:
        with self.state.lock:
            wanted = user_ids if user_ids is not None else list(self.state.statuses)
            now = now_ms()
            return {
                uid: self.state.status_of(uid, now)["status"]
                for uid in wanted
                if uid in self.state.users
            }

    def _limited_and_faulty(
        self,
        environ: dict[str, Any],
        request: Request,
        spec: RouteSpec,
        params: dict[str, str],
        request_id: str,
        headers: dict[str, str],
    ) -> Response:
        path = request.path
        if request.headers.get(PERSON_HEADER):
            return self._dispatch(request, spec, params, request_id, headers)
        limiter = self._rate_limiter
        if limiter is not None and (path.startswith("/api/v4/") or path.startswith("/hooks/")):
            decision = limiter.check(environ.get("REMOTE_ADDR", ""))
            headers.update(decision.headers())
            if decision.limited:
                headers["_fault"] = "rate_limited"
                return Response("limit exceeded\n", 429, content_type="text/plain; charset=utf-8")
        faults = self._faults
        plan = (
            faults.plan()
            if faults is not None and faults.active and path.startswith("/api/v4/")
            else FaultPlan("none")
        )
        if plan.latency:
            time.sleep(plan.latency)
        if plan.kind in ("drop", "timeout"):
            self._log_dropped(request, spec, plan.kind)  # logged first: the client moves on
            if plan.kind == "timeout":
                time.sleep(faults.timeout_seconds if faults else 0)
            self._drop(environ)
        if plan.kind == "error" and not (faults and faults.apply_then_fail):
            headers["_fault"] = "error"
            return self._injected_error(plan.status, request_id)
        response = self._dispatch(request, spec, params, request_id, headers)
        if plan.kind == "error":
            headers["_fault"] = "error"
            return self._injected_error(plan.status, request_id)
        return response

    def _log_dropped(self, request: Request, spec: RouteSpec, kind: str) -> None:
        self.request_log.append(
            LoggedRequest(request.method, request.path, spec.template, 0, 0.0, "", kind)
        )

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        connection = environ.get("werkzeug.socket")
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        raise _DroppedConnection("the sandbox dropped the connection on purpose")

    def _injected_error(self, status: int, request_id: str) -> Response:
        return self._error_response(
            AppError(
                status,
                "app.sandbox.injected_fault.app_error",
                "The server could not complete the request (injected fault).",
            ),
            request_id,
        )

    def _authenticate(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not token:
            token = request.args.get("access_token", "")
        if not token:
            return None
        user_id = self.state.tokens.get(token.strip())
        if user_id is None or self.state.users[user_id]["delete_at"]:
            return ""  # a token was given but is not valid
        return user_id

    def _dispatch(
        self,
        request: Request,
        spec: RouteSpec,
        params: dict[str, str],
        request_id: str,
        headers: dict[str, str],
    ) -> Response:
        lock = self.state.lock
        try:
            with lock:
                user_id = self._authenticate(request)
                if spec.auth and not user_id:
                    raise unauthorized()
                if user_id:
                    self.state.touch(user_id)
                    headers["_user"] = user_id
            _check_path_ids(params)
            if user_id and "user_id" in params and params["user_id"] == "me":
                params["user_id"] = user_id
            call = Call(self, request, params, user_id or "", request_id)
            if spec.locked:
                with lock:
                    return self._render(spec.handler(call))
            return self._render(spec.handler(call))
        except AppError as error:
            return self._error_response(error, request_id)
        except HTTPException as error:
            return self._error_response(
                AppError(
                    error.code or 400,
                    "api.context.invalid_body_param.app_error",
                    error.description or "Bad request.",
                ),
                request_id,
            )

    @staticmethod
    def _render(result: Any) -> Response:
        if isinstance(result, Response):
            return result
        status, body = result
        return Response(
            json.dumps(body, separators=(",", ":")), status, content_type="application/json"
        )

    def _error_response(self, error: AppError, request_id: str) -> Response:
        developer = bool(self.state.setting("ServiceSettings", "EnableDeveloper"))
        return Response(
            json.dumps(error.body(request_id, developer=developer)),
            error.status,
            content_type="application/json",
        )

    def _check_contract(self, request: Request, response: Response, route: str) -> None:
        checker = self._checker
        if checker is None:
            return
        args = {key: request.args.getlist(key) for key in request.args}
        exchange = Exchange(
            method=request.method,
            path=request.path,
            route=route,
            args=args,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.get_data(cache=True),
            content_type=request.content_type or "",
            status=response.status_code,
            response_body=response.get_data(),
            response_content_type=response.content_type or "",
        )
        found = checker.check(exchange)
        if found:
            with self._violations_lock:
                self.violations.extend(found)
            for violation in found:
                log.warning("sandbox contract violation: %s", violation)
