"""The API's routes: each handler is registered with its method and werkzeug rule.

Handlers take a ``Call`` and return ``(status, json_body)`` or a werkzeug ``Response``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request, Response

from plugin.sandbox.core import (
    AppError,
    forbidden,
    go_atoi,
    go_parse_bool,
    invalid_body_param,
    invalid_param,
    unauthorized,
)

if TYPE_CHECKING:
    from plugin.sandbox.server import Sandbox
    from plugin.sandbox.state import SandboxState

PER_PAGE_DEFAULT = 60
PER_PAGE_MAXIMUM = 200
Result = tuple[int, Any] | Response
Handler = Callable[["Call"], Result]


class AlnumConverter(BaseConverter):
    """Mattermost routes action ids as ``{action_id:[A-Za-z0-9]+}``: ids with '-' or '_' 404."""

    regex = "[A-Za-z0-9]+"


@dataclass(frozen=True)
class RouteSpec:
    method: str
    rule: str
    handler: Handler
    auth: bool
    locked: bool

    @property
    def template(self) -> str:
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.rule)


ROUTES: list[RouteSpec] = []


def route(
    method: str, rule: str, *, auth: bool = True, locked: bool = True
) -> Callable[[Handler], Handler]:
    """Register a handler. ``locked=False`` for handlers that call out over HTTP (they take
    the state lock themselves around the parts that read or write state)."""

    def register(handler: Handler) -> Handler:
        ROUTES.append(RouteSpec(method, rule, handler, auth, locked))
        return handler

    return register


def build_map() -> Map:
    return Map(
        [
            Rule(spec.rule, methods=[spec.method], endpoint=index)
            for index, spec in enumerate(ROUTES)
        ],
        converters={"alnum": AlnumConverter},
    )


@dataclass
class Call:
    """One API call as a handler sees it."""

    sandbox: Sandbox
    request: Request
    params: dict[str, str]
    user_id: str
    request_id: str
    _json: Any = field(default=None, init=False)
    _parsed: bool = field(default=False, init=False)

    @property
    def state(self) -> SandboxState:
        return self.sandbox.state

    # -------------------------------------------------------------- input

    def json(self) -> Any:
        if not self._parsed:
            try:
                self._json = json.loads(self.request.get_data() or b"null")
            except ValueError as error:
                raise AppError(
                    400,
                    "api.context.invalid_body_param.app_error",
                    "Invalid or missing body in request body.",
                    str(error),
                ) from None
            self._parsed = True
        return self._json

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise invalid_body_param("body")
        return body

    def json_list(self, name: str = "body") -> list[Any]:
        body = self.json()
        if not isinstance(body, list):
            raise invalid_body_param(name)
        return body

    def arg(self, name: str, default: str = "") -> str:
        return self.request.args.get(name, default)

    def flag(self, name: str) -> bool:
        """A boolean query parameter as ``strconv.ParseBool`` reads it; anything else is false."""
        return go_parse_bool(self.request.args.get(name, "")) is True

    def given(self, name: str) -> bool:
        """Present with any value, as ``r.URL.Query().Get(name) != ""`` reads it (``graceful``)."""
        return bool(self.request.args.get(name, ""))

    def int_arg(self, name: str, default: int) -> int:
        """An integer the handler checks itself (``since`` …): 400 when it is not one."""
        raw = self.request.args.get(name)
        if raw in (None, ""):
            return default
        value = go_atoi(raw)
        if value is None:
            raise invalid_param(name)
        return value

    def page(self) -> tuple[int, int]:
        """``page`` and ``per_page`` as ``web/params.go`` parses them: never an error. A page
        that is not a number, or negative, is 0; a ``per_page`` (or the mobile app's old
        ``pageSize``) that is not a number, or negative, is 60; above 200 it is 200; 0 is 0."""
        page = go_atoi(self.request.args.get("page"))
        per_page = go_atoi(self.request.args.get("per_page"))
        if per_page is None:
            per_page = go_atoi(self.request.args.get("pageSize"))
        if per_page is None or per_page < 0:
            per_page = PER_PAGE_DEFAULT
        return (page if page is not None and page >= 0 else 0), min(per_page, PER_PAGE_MAXIMUM)

    # -------------------------------------------------------------- who

    @property
    def is_admin(self) -> bool:
        return bool(self.user_id) and self.state.is_system_admin(self.user_id)

    def require_user(self) -> str:
        if not self.user_id:
            raise unauthorized()
        return self.user_id

    def require_admin(self, permission: str = "manage_system") -> None:
        if not self.is_admin:
            raise forbidden(permission)

    def user_param(self, name: str = "user_id") -> str:
        raw = self.params[name]
        return self.user_id if raw == "me" else raw

    def require_self_or_admin(self, user_id: str, permission: str = "edit_other_users") -> None:
        if user_id != self.user_id and not self.is_admin:
            raise forbidden(permission)

    def require_team_member(self, team_id: str, permission: str = "view_team") -> None:
        if not self.is_admin and self.state.team_member(team_id, self.user_id) is None:
            raise forbidden(permission)

    def require_team_admin(self, team_id: str, permission: str = "manage_team") -> None:
        if self.is_admin:
            return
        member = self.state.team_member(team_id, self.user_id)
        if member is None or "team_admin" not in member["roles"].split():
            raise forbidden(permission)

    def require_channel_read(self, channel_id: str) -> dict[str, Any]:
        channel = self.state.channel(channel_id)
        if self.is_admin or self.state.channel_member(channel_id, self.user_id) is not None:
            return channel
        if channel["type"] == "O" and self.state.team_member(channel["team_id"], self.user_id):
            return channel
        raise forbidden("read_channel")

    def require_channel_member(
        self, channel_id: str, permission: str = "create_post"
    ) -> dict[str, Any]:
        channel = self.state.channel(channel_id)
        if self.is_admin or self.state.channel_member(channel_id, self.user_id) is not None:
            return channel
        raise forbidden(permission)


def status_ok() -> tuple[int, dict[str, str]]:
    return 200, {"status": "OK"}
