"""The contract check: every request the sandbox receives and every answer it sends, validated
against Mattermost's OpenAPI document (``shared/mattermost-openapi/openapi.yaml``).

The 2023 spec lags the real server in known places; ``KNOWN_GAPS`` lists each with its reason
and the exact exchanges it excuses. Anything else is a violation, recorded by the sandbox.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# openapi-core matches scheme and host against the spec's `servers`; the sandbox listens on
# 127.0.0.1, so every exchange is rewritten to this host before validation.
SPEC_HOST = "https://your-mattermost-url.com"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_spec_path() -> Path:
    """``$ENVOL_MM_OPENAPI``, else ``<project>/../shared/mattermost-openapi/openapi.yaml``."""
    named = os.environ.get("ENVOL_MM_OPENAPI")
    if named:
        return Path(named)
    return PROJECT_ROOT.parent / "shared" / "mattermost-openapi" / "openapi.yaml"


@functools.lru_cache(maxsize=4)
def load_spec(path: str) -> Any:
    """Parse and validate the spec once per process: it takes about a second."""
    import yaml
    from openapi_core import OpenAPI

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=loader)
    return OpenAPI.from_dict(document)


_absent_reported: set[str] = set()
_absent_lock = threading.Lock()


def report_absent_spec_once(path: Path) -> None:
    with _absent_lock:
        if str(path) in _absent_reported:
            return
        _absent_reported.add(str(path))
    log.warning(
        "sandbox contract check skipped: no OpenAPI spec at %s (set ENVOL_MM_OPENAPI)", path
    )


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as the contract check sees them."""

    method: str
    path: str
    route: str
    args: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    content_type: str
    status: int
    response_body: bytes
    response_content_type: str

    @functools.cached_property
    def request_json(self) -> Any:
        return _json_or_none(self.body, self.content_type)

    @functools.cached_property
    def response_json(self) -> Any:
        return _json_or_none(self.response_body, self.response_content_type)

    def arg(self, name: str) -> str:
        """The first value, as Go's ``r.URL.Query().Get(name)`` reads it ("" when absent)."""
        values = self.args.get(name) or [""]
        return values[0]


def _json_or_none(body: bytes, content_type: str) -> Any:
    if not body or "json" not in content_type:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _is_app_error(body: Any) -> bool:
    return isinstance(body, dict) and {"id", "message", "status_code"} <= body.keys()


@dataclass(frozen=True)
class KnownGap:
    """Where the 2023 spec is wrong or lags the real server: the exchanges it excuses, why, and
    the server source file (``server/channels/…`` or ``server/public/…``) that shows the real
    behaviour. Each gap is listed once; anything else the spec rejects is a violation."""

    direction: str  # "request" or "response"
    method: str  # "*" for any
    route: str  # "*" for any
    reason: str
    source: str  # the Mattermost server file that shows what the server really does
    applies: Callable[[Exchange], bool] = field(default=lambda exchange: True)
    problem: str = ""  # when set, excuses only the problems that contain this text

    def excuses(self, direction: str, exchange: Exchange, problem: str) -> bool:
        return (
            self.direction == direction
            and self.method in ("*", exchange.method)
            and self.route in ("*", exchange.route)
            and self.problem in problem
            and self.applies(exchange)
        )


CHANNEL_MEMBERS = "/api/v4/channels/{channel_id}/members"
INVITE_EMAIL = "/api/v4/teams/{team_id}/invite/email"


def _no_session(exchange: Exchange) -> bool:
    return "authorization" not in exchange.headers


def _public(route: str, reason: str, source: str) -> KnownGap:
    """A route registered with ``APIHandler`` (no session): the spec inherits the global
    bearer requirement."""
    return KnownGap("request", "GET", route, reason, source, _no_session)


KNOWN_GAPS: tuple[KnownGap, ...] = (
    # ---- the four errors of the 2023 spec that every client meets
    KnownGap(
        "response",
        "*",
        "*",
        'user timezones are a map of strings ("true"); the spec says boolean',
        "server/public/model/user.go (Timezone is a StringMap)",
        problem="timezone/useAutomaticTimezone: 'true' is not of type",
    ),
    KnownGap(
        "response",
        "GET",
        "/api/v4/users/{user_id}/teams/{team_id}/channels/categories",
        "the server answers one OrderedSidebarCategories object; the spec wraps it in an array",
        "server/channels/api4/channel_category.go (getCategoriesForTeamForUser encodes "
        "model.OrderedSidebarCategories)",
        lambda x: (
            isinstance(x.response_json, dict)
            and isinstance(x.response_json.get("categories"), list)
        ),
    ),
    KnownGap(
        "request",
        "POST",
        CHANNEL_MEMBERS,
        "newer servers accept {user_ids: [...]} (at most 1000); the 2023 spec requires user_id",
        "server/channels/api4/channel.go (addChannelMember reads user_ids, maxListSize)",
        lambda x: isinstance(x.request_json, dict) and "user_ids" in x.request_json,
    ),
    KnownGap(
        "response",
        "POST",
        CHANNEL_MEMBERS,
        "with user_ids the server answers an array of ChannelMember, not one",
        "server/channels/api4/channel.go (addChannelMember)",
        lambda x: isinstance(x.response_json, list),
    ),
    KnownGap(
        "request",
        "GET",
        "/api/v4/limits/server",
        "GET /api/v4/limits/server is missing from the 2023 spec",
        "server/channels/api4/limits.go (InitLimits registers /server)",
    ),
    KnownGap(
        "response",
        "GET",
        "/api/v4/limits/server",
        "GET /api/v4/limits/server is missing from the 2023 spec",
        "server/channels/api4/limits.go (getServerLimits)",
    ),
    # ---- newer request and answer shapes
    KnownGap(
        "request",
        "POST",
        INVITE_EMAIL,
        "newer servers parse model.MemberInvite {emails, channel_ids, message}",
        "server/channels/api4/team.go (inviteUsersToTeam)",
        lambda x: isinstance(x.request_json, dict),
    ),
    KnownGap(
        "response",
        "POST",
        INVITE_EMAIL,
        "?graceful answers [{email, error}], not StatusOK",
        "server/channels/api4/team.go (inviteUsersToTeam, graceful)",
        lambda x: x.arg("graceful") != "" and isinstance(x.response_json, list),
    ),
    KnownGap(
        "response",
        "POST",
        "/api/v4/teams/{team_id}/members/batch",
        "?graceful answers [{member, user_id, error}], not TeamMember[]",
        "server/channels/api4/team.go (addTeamMembers: TeamMembersWithError when graceful)",
        lambda x: x.arg("graceful") != "",
    ),
    KnownGap(
        "response",
        "GET",
        "/api/v4/teams",
        "?include_total_count answers {teams, total_count}; the spec declares a list of teams",
        "server/channels/api4/team.go (getAllTeams encodes model.TeamsWithCount)",
        lambda x: isinstance(x.response_json, dict) and "total_count" in x.response_json,
    ),
    KnownGap(
        "response",
        "GET",
        "/api/v4/channels/{channel_id}/bookmarks",
        "listing bookmarks answers 200; the newer spec declares only 201",
        "server/channels/api4/channel_bookmark.go (listChannelBookmarksForChannel)",
        lambda x: x.status == 200,
    ),
    KnownGap(
        "request",
        "PUT",
        "/api/v4/posts/{post_id}/patch",
        "the spec types the patch's props as a string; the server's PostPatch.Props is an "
        "object (a StringInterface), as Post.props is in the same spec",
        "server/public/model/post.go (PostPatch.Props *StringInterface)",
        lambda x: (
            isinstance(x.request_json, dict) and isinstance(x.request_json.get("props"), dict)
        ),
        # The error at path `props` on an object value: the spec's only rule there is the type.
        problem="InvalidRequestBody: props: {",
    ),
    KnownGap(
        "response",
        "POST",
        "/api/v4/users/login",
        "login answers 200 with the user (the session token in the Token header); the spec "
        "declares 201",
        "server/channels/api4/user.go (login encodes the user without WriteHeader)",
        lambda x: x.status == 200,
    ),
    # ---- error answers the spec does not list
    KnownGap(
        "response",
        "*",
        "*",
        "the rate limiter answers 429 text/plain `limit exceeded`; the spec declares JSON "
        "for one operation only",
        'server/channels/app/ratelimit.go (http.Error(w, "limit exceeded", 429))',
        lambda x: x.status == 429,
    ),
    KnownGap(
        "response",
        "*",
        "*",
        "any operation can answer 500/502/503 (the sandbox injects them as faults); the spec "
        "declares 5xx for few",
        "server/channels/web/handlers.go (ServeHTTP writes any AppError status)",
        lambda x: x.status >= 500,
    ),
    KnownGap(
        "response",
        "*",
        "*",
        "each operation lists only some error statuses; the server answers any AppError "
        "status (e.g. 404 for a missing post)",
        "server/channels/web/handlers.go (ServeHTTP writes any AppError status)",
        lambda x: 400 <= x.status < 500 and _is_app_error(x.response_json),
        problem="ResponseNotFound: Unknown response http status",
    ),
    # ---- routes that need no session (registered with APIHandler, not APISessionRequired)
    _public(
        "/api/v4/system/ping",
        "ping answers without a session (clients probe it before login)",
        "server/channels/api4/system.go (APIHandler(getSystemPing))",
    ),
    _public(
        "/api/v4/config/client",
        "the client config is public (read before login)",
        "server/channels/api4/config.go (APIHandler(getClientConfig))",
    ),
    _public(
        "/api/v4/license/client",
        "the client licence is public (read before login)",
        "server/channels/api4/license.go (APIHandler(getClientLicense))",
    ),
    _public(
        "/api/v4/teams/invite/{invite_id}",
        "invite info is public (the sign-up page reads it)",
        "server/channels/api4/team.go (APIHandler(getInviteInfo))",
    ),
    _public(
        "/api/v4/brand/image",
        "the brand image is public (the login page shows it)",
        "server/channels/api4/brand.go (APIHandlerTrustRequester(getBrandImage))",
    ),
    KnownGap(
        "response",
        "GET",
        "/api/v4/brand/image",
        "the brand image is answered as image bytes; the spec declares JSON",
        "server/channels/api4/brand.go (getBrandImage writes the image)",
        lambda x: x.status == 200 and x.response_content_type.startswith("image/"),
    ),
    KnownGap(
        "response",
        "GET",
        "/api/v4/files/{file_id}",
        "the file is answered as its bytes with 200; the spec lists only the error statuses",
        "server/channels/api4/file.go (getFile calls web.WriteFileResponse)",
        lambda x: x.status == 200,
        problem="ResponseNotFound: Unknown response http status",
    ),
    KnownGap(
        "request",
        "POST",
        "/api/v4/users",
        "signing up with ?t=<invite token> or ?iid=<invite id> needs no session",
        "server/channels/api4/user.go (APIHandler(createUser))",
        lambda x: ("t" in x.args or "iid" in x.args) and _no_session(x),
    ),
    KnownGap(
        "request",
        "POST",
        "/api/v4/users/login",
        "logging in needs no session: it is how a client gets one",
        "server/channels/api4/user.go (APIHandler(login))",
        _no_session,
    ),
)


@dataclass(frozen=True)
class ContractViolation:
    direction: str
    method: str
    path: str
    route: str
    status: int
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.direction} {self.method} {self.path} (status {self.status}): " + "; ".join(
            self.problems
        )


def describe(error: Exception) -> list[str]:
    """One line per problem, with the JSON path of each schema error."""
    cause = error.__cause__ or error
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        return [
            f"{type(error).__name__}: "
            f"{'/'.join(str(p) for p in schema_error.absolute_path) or '(body)'}: "
            f"{schema_error.message}"[:400]
            for schema_error in schema_errors
        ]
    return [f"{type(error).__name__}: {cause}"[:400]]


class ContractChecker:
    """Validates exchanges against one spec file; thread-safe."""

    def __init__(self, spec_path: Path) -> None:
        self.spec_path = spec_path
        self.api = load_spec(str(spec_path))
        self._lock = threading.Lock()

    def check(self, exchange: Exchange) -> list[ContractViolation]:
        from openapi_core.testing import MockRequest, MockResponse

        request = MockRequest(
            SPEC_HOST,
            exchange.method.lower(),
            exchange.path,
            args=exchange.args,
            headers=exchange.headers,
            data=exchange.body or None,
            content_type=exchange.content_type or "application/json",
        )
        response = MockResponse(
            exchange.response_body,
            status_code=exchange.status,
            content_type=exchange.response_content_type,
        )
        with self._lock:
            request_errors = list(self.api.iter_request_errors(request))
            response_errors = list(self.api.iter_response_errors(request, response))
        violations = []
        for direction, errors in (("request", request_errors), ("response", response_errors)):
            problems = [
                problem
                for error in errors
                for problem in describe(error)
                if not any(g.excuses(direction, exchange, problem) for g in KNOWN_GAPS)
            ]
            if problems:
                violations.append(
                    ContractViolation(
                        direction,
                        exchange.method,
                        exchange.path,
                        exchange.route,
                        exchange.status,
                        tuple(problems),
                    )
                )
        return violations
