"""A local Mattermost stand-in: the subset of REST API v4 that Envol uses, over real HTTP.

Everything above ``plugin/mattermost/`` is tested against it through the real adapter and
driver, so it behaves like Mattermost 9.11 (Team Edition unless licensed): same paths, methods,
JSON shapes, status codes, AppError bodies ``{id, message, request_id, status_code, is_oauth}``,
26-character ids, times in milliseconds, ``X-Version-Id`` and ``X-Request-Id`` headers.

Start and stop::

    from plugin.sandbox import Sandbox

    sandbox = Sandbox.start(port=0, seed=7, contract=True)   # a thread; port 0 = a free port
    sandbox.url, sandbox.admin_token, sandbox.admin_user_id
    sandbox.reset()        # fresh state and a new admin token; log, violations, limits cleared
    sandbox.stop()

Options of ``Sandbox(...)`` / ``Sandbox.start(...)``: ``seed`` (ids become reproducible),
``contract`` (validate every exchange against the OpenAPI spec, below), ``spec_path``,
``licensed`` (default False: Team Edition), ``config`` (a patch over the default config),
``user_limits`` (unlicensed soft/hard user caps, default 5000/11000 as in the server's
``app/limits.go``; a user is refused once the active ones exceed the hard cap).

Setting a scene directly (no HTTP, no permission checks; each returns the API JSON)::

    user = sandbox.create_user("alice", first_name="Alice", locale="fr", position="CFO")
    token = sandbox.create_token(user["id"])
    sandbox.make_system_admin(user["id"])
    bot = sandbox.create_bot("envol", "Envol")            # then create_token(bot["user_id"])
    team = sandbox.create_team("acme", admin_id=user["id"])   # + town-square and off-topic
    sandbox.add_team_member(team["id"], user_id)             # MaxUsersPerTeam applies
    channel = sandbox.create_channel(team["id"], "welcome")
    sandbox.add_channel_member(channel["id"], user_id)
    sandbox.patch_config({"TeamSettings": {"MaxUsersPerTeam": 5000}})  # as config.json would
    sandbox.set_license(True)       # bookmarks etc. become available
    sandbox.set_status(user_id, "dnd")   # otherwise from last activity (online < 5 min < away)

Limits and faults::

    sandbox.set_rate_limit(10, burst=100)   # GCRA like RateLimitSettings; None turns it off.
        # Over the limit: 429 text/plain "limit exceeded" + Retry-After; X-RateLimit-Limit,
        # -Remaining and -Reset (relative seconds) on every response while enabled.
    sandbox.set_faults(error_rate=0.2, latency=0.01, drop_rate=0.05, timeout_rate=0.0,
                       timeout_seconds=5, seed=3, apply_then_fail=False)
        # /api/v4 calls only; one seeded draw per request, so the same seed and request order
        # give the same faults. An injected 5xx does not apply the write unless
        # apply_then_fail=True (a lost response). Drops close the socket with no answer;
        # timeouts wait timeout_seconds, then drop.
    sandbox.clear_faults()

Limits always on: per_page capped at 200; team batch ≤ 256; channel ``user_ids`` ≤ 1000;
e-mail invitations 20 per hour per sender (a request over the remaining budget fails whole,
413 ``app.email.rate_limit_exceeded.app_error``); ``TeamSettings.MaxUsersPerTeam`` (default
50); bookmarks need a licence (403 ``api.channel.bookmark.channel_bookmark.license.error``);
bots need ``ServiceSettings.EnableBotAccountCreation`` and personal access tokens
``EnableUserAccessTokens`` (both false by default, as on a fresh server); admin endpoints
answer 403 to other tokens; ``PluginSettings.EnableUploads`` cannot be changed through the API.
Action ids must be alphanumeric (the server's route is ``{action_id:[A-Za-z0-9]+}``), and
posts sent to clients have their actions' ``integration`` stripped, as the server does.

Requests are parsed as the server parses them: ``page``/``per_page`` never fail
(``web/params.go``: not a number or negative → 0 / 60, above 200 → 200), booleans follow
``strconv.ParseBool``, a malformed id in the path is a 400
``api.context.invalid_url_param.app_error`` (after the 401 for a missing session), and
``detailed_error`` is empty unless ``ServiceSettings.EnableDeveloper``. Unlicensed user caps are
``app/limits.go``'s (5,000 soft, 11,000 hard). Mattermost's JavaScript client can drive it:
``POST /users/login`` (token in the ``Token`` header), ``GET /teams``, ``POST /users/search``,
``GET /users/autocomplete``, channel and team members, team stats, a user's channels in a
team, command suggestions, ``PUT /users/{id}/roles`` (``tests/sandbox/test_js_client.py``).

Inspection::

    sandbox.request_log.count("POST", "/api/v4/teams/{team_id}/members/batch")
    sandbox.request_log.writes()            # POST/PUT/PATCH/DELETE requests
    list(sandbox.request_log)               # LoggedRequest(method, path, route, status,
                                            #   duration_ms, user_id, fault)
    sandbox.state                           # SandboxState: users, teams, channels, posts …
    sandbox.posts_in(channel_id), sandbox.ephemeral_for(user_id), sandbox.dialogs_for(user_id)
    sandbox.team_member_ids(team_id), sandbox.channel_member_ids(channel_id)
    sandbox.state.sent_invites              # e-mail invitations the server would have sent

People (``plugin.demo.person.AppUser``: the public API v4 and the WebSocket only, so the same
person can use a real Mattermost; ``plugin.demo.sandbox_people`` makes one for a sandbox user)::

    from plugin.demo.sandbox_people import accept_invite, as_user
    alice = as_user(sandbox, user_id)
    alice.run_command(channel_id, "/support help")  # POSTs the form to the command URL with
        # Authorization: Token …, trigger_id, root_id, mentions and response_url, waiting
        # OutgoingIntegrationRequestsTimeout (30 s); the reply becomes posts
    alice.click(post_id, alice.find_action(post_id, "Yes"))  # PostActionIntegrationRequest;
        # the reply's ``update`` replaces the post, ``ephemeral_text`` reaches alice only
    alice.submit_dialog({"topic": "vpn"})   # the last dialog opened for her (after
        # POST /actions/dialogs/open with a trigger_id the sandbox issued, valid for
        # ServiceSettings.OutgoingIntegrationRequestsTimeout seconds); returns {error, errors}
    alice.ephemeral_messages, alice.last_dialog  # from her WebSocket's events
    bob = accept_invite(sandbox, email="bob@example.com")   # from an e-mail invitation
    carol = accept_invite(sandbox, email="carol@x.org", invite_id=team["invite_id"])

WebSocket (``plugin/sandbox/websocket.py``): ``GET /api/v4/websocket`` upgrades, authenticates
with the header or the ``authentication_challenge``, sends ``hello``, then ``open_dialog`` (the
OpenDialogRequest as a JSON string) and ``ephemeral_message`` (the post as a JSON string) to the
person's connections, and answers ``get_statuses`` requests (``seq_reply``) after the events
already sent. ``reset()`` and ``stop()`` close every connection.

What a person sees when an integration answers anything but 200: the server drops the body and
shows its own message ("Command with a trigger of 'x' returned response 409 CONFLICT.", "Action
integration error."); the call fails and ``sandbox.errors_shown_to(user_id)`` lists those
messages. Every opened dialog is checked with ``Dialog.IsValid``'s rules
(``plugin/sandbox/dialogs.py``, lengths in UTF-8 bytes): an invalid one still opens, as on the
server, and lands in ``state.invalid_dialogs`` (``sandbox.invalid_dialog_report()``); the
pytest hook fails the test that opened it.

The contract check: when ``../shared/mattermost-openapi/openapi.yaml`` (next to the project)
or the file named by ``ENVOL_MM_OPENAPI`` exists, every /api/v4 request and response is
validated with openapi-core (spec loaded once per process). Known spec gaps are excused by
``contract.KNOWN_GAPS`` (each with its reason and the server source file that shows the real
behaviour); other problems land in
``sandbox.violations`` (``sandbox.violation_report()`` explains them). Without the spec the
check is skipped with one warning log line (``sandbox.contract_status`` says so). Turn it
off for big runs: ``contract=False`` or ``sandbox.disable_contract()``.

Time: ``create_at`` and friends, invite budgets and response_url lifetimes follow
``plugin.clock`` (so frozen and accelerated clocks apply); rate limiting, latency and the
trigger_id lifetime use real monotonic time.

Pytest: ``tests/helpers/sandbox.py`` provides ``sandbox`` (fresh state, contract on, the test
fails on a violation or on an invalid dialog from any sandbox of the process) and the
session-wide ``sandbox_server``.
"""

from plugin.sandbox.contract import KNOWN_GAPS, ContractViolation, KnownGap
from plugin.sandbox.core import AppError
from plugin.sandbox.requestlog import LoggedRequest, RequestLog
from plugin.sandbox.server import Sandbox
from plugin.sandbox.state import SandboxState

__all__ = [
    "KNOWN_GAPS",
    "AppError",
    "ContractViolation",
    "KnownGap",
    "LoggedRequest",
    "RequestLog",
    "Sandbox",
    "SandboxState",
]
