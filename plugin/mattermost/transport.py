"""Every HTTP request to Mattermost: pooled session, timeout, pacing, retries, error translation.

Retry policy:

* 429, 5xx (except 501, a "feature disabled" answer) and connection errors or timeouts are
  retried with jittered exponential backoff, waiting at least what the server asked
  (``Retry-After``, ``X-RateLimit-Reset``: both relative seconds), until the retry budget is
  spent; then ``MattermostUnavailable``.
* A 429 also holds the shared pacer, so every thread of the process waits, not just this one.
* A request that is not idempotent (creating a post, sending invitations) is re-sent after an
  ambiguous failure (a timeout or 5xx after the request was sent) only when the caller gives
  ``already_applied``: a check run before each re-send that returns the object if the first
  attempt did land. Without one, the failure is raised as ``Retryable`` at once. A 429 or a
  refused connection is always safe to retry: the server did nothing.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from plugin.interactive import failing_fast
from plugin.mattermost.errors import (
    Conflict,
    FeatureDisabled,
    FeatureNeedsLicense,
    Forbidden,
    Invalid,
    MattermostError,
    MattermostUnavailable,
    NotFound,
    Retryable,
    Unauthorized,
)
from plugin.mattermost.pacing import TokenBucket

log = logging.getLogger("envol.mattermost")

NO_BODY: Any = object()  # sentinel: send no JSON body at all (``None`` would send ``null``)

_EMAIL_IN_PATH = re.compile(r"[^/?&=]+@[^/?&=]+")
_NOT_RETRIED_5XX = {501}  # "feature disabled": retrying cannot help


@dataclass(frozen=True)
class _Failure:
    """An attempt that may be retried: what went wrong, and whether it reached the server
    (a request that reached it may have been applied)."""

    problem: str
    reached: bool
    asked: float | None = None  # the delay the server asked for (Retry-After…)
    status: int | None = None
    unreached: str | None = None  # why the server could not be reached at all


@dataclass
class _Applied:
    """The ``already_applied`` check found the object: return it instead of re-sending."""

    value: Any


def safe_path(path: str) -> str:
    """The path as it may appear in logs and error messages: e-mail addresses masked."""
    return _EMAIL_IN_PATH.sub("***", path)


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # Retry-After may also be an HTTP date
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def server_delay(response: requests.Response) -> float | None:
    """What the server asked us to wait: the larger of ``Retry-After`` and, on a 429,
    ``X-RateLimit-Reset`` (relative seconds, whatever the 2023 spec says about epochs)."""
    delays = [_seconds(response.headers.get("Retry-After"))]
    if response.status_code == 429:
        delays.append(_seconds(response.headers.get("X-RateLimit-Reset")))
    known = [d for d in delays if d is not None]
    return max(known) if known else None


def translate_error(response: requests.Response, method: str, path: str) -> MattermostError:
    """Turn an error response into Envol's error type, keeping the server's words and ids."""
    status = response.status_code
    body: Mapping[str, Any] = {}
    if "json" in response.headers.get("Content-Type", ""):
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            body = parsed
    # The rate limiter answers text/plain "limit exceeded", not an AppError.
    message = str(body.get("message") or response.text.strip() or response.reason or "error")
    error_id = str(body.get("id") or "")
    request_id = str(body.get("request_id") or response.headers.get("X-Request-Id") or "")
    kind: type[MattermostError]
    if (
        "license" in error_id.lower()
        or "licence" in message.lower()
        or "license" in message.lower()
    ):
        kind = FeatureNeedsLicense
    elif status in (400, 413):
        kind = Invalid
    elif status == 401:
        kind = Unauthorized
    elif status == 403:
        kind = Forbidden
    elif status == 404:
        kind = NotFound
    elif status == 409:
        kind = Conflict
    elif status == 501:
        kind = FeatureDisabled
    elif status == 429 or status >= 500:
        kind = Retryable
    else:
        kind = MattermostError
    return kind(
        message,
        status_code=status,
        error_id=error_id,
        request_id=request_id,
        method=method.upper(),
        path=safe_path(path),
    )


def _unreached_reason(error: requests.RequestException) -> str:
    text = repr(error)
    if isinstance(error, requests.ConnectTimeout):
        return "connect timeout"
    if "NameResolutionError" in text or "Failed to resolve" in text:
        return "unknown host name"
    if "Connection refused" in text:
        return "connection refused"
    return type(error).__name__


def _never_reached_server(error: requests.RequestException) -> bool:
    """True when the request certainly did not reach the server (safe to re-send a POST)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, requests.ConnectionError):
        text = repr(error)
        return "NewConnectionError" in text or "Connection refused" in text
    return False


class Transport:
    """HTTP to one Mattermost server with one token; thread-safe (requests' pool is)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float,
        pacer: TokenBucket,
        retry_budget_seconds: float,
        session: requests.Session | None = None,
        verify: bool = True,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        fail_fast: bool | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.fail_fast = failing_fast() if fail_fast is None else fail_fast
        self._answered = False  # the server has answered at least once (any status)
        self.api_url = self.base_url + "/api/v4"
        self._token = token
        self.timeout = timeout
        self.pacer = pacer
        self.retry_budget_seconds = retry_budget_seconds
        # requests reads the proxy variables, ~/.netrc and the CA-bundle variables again for
        # every request (trust_env); with one base URL the answer never changes, and reading
        # it cost a third of a millisecond per call. So: read once here, then trust_env off.
        self.verify: bool | str = verify and (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._count_lock = threading.Lock()
        self._count = 0
        if session is None:
            session = requests.Session()
            # Pool sized for a few worker threads; requests' default of 10 would be enough
            # for one thread but blocks when a wave fans out.
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.trust_env = False
            session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        self.session = session

    def __repr__(self) -> str:  # never the token
        return f"Transport({self.base_url!r})"

    @property
    def request_count(self) -> int:
        return self._count

    def close(self) -> None:
        self.session.close()

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    # ------------------------------------------------------------------ public entry points

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = NO_BODY,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        already_applied: Callable[[], Any] | None = None,
    ) -> Any:
        """Send to ``/api/v4`` + ``path``; returns the parsed JSON (None for an empty body)."""
        outcome = self._send(
            method,
            self.api_url + path,
            path,
            json=json,
            params=params,
            data=data,
            files=files,
            idempotent=idempotent,
            already_applied=already_applied,
            authenticate=True,
        )
        if isinstance(outcome, _Applied):
            return outcome.value
        return parse_body(outcome)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = NO_BODY,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """Like ``call`` but returns the response (what the driver's ``make_request`` wants)."""
        outcome = self._send(
            method,
            self.api_url + path,
            path,
            json=json,
            params=params,
            data=data,
            files=files,
            idempotent=idempotent,
            already_applied=None,
            authenticate=True,
        )
        assert isinstance(outcome, requests.Response)
        return outcome

    def call_absolute(self, method: str, url: str, *, json: Any = NO_BODY) -> Any:
        """A request to a full URL without our token (a slash command's ``response_url``)."""
        outcome = self._send(
            method,
            url,
            re.sub(r"^https?://[^/]+", "", url),
            json=json,
            params=None,
            data=None,
            files=None,
            idempotent=False,
            already_applied=None,
            authenticate=False,
        )
        assert isinstance(outcome, requests.Response)
        return parse_body(outcome)

    # ------------------------------------------------------------------ the loop

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return self._rng.uniform(ceiling / 2, ceiling)  # "equal jitter"

    def _attempt(
        self, verb: str, url: str, path: str, kwargs: dict[str, Any], attempt: int
    ) -> requests.Response | _Failure:
        """One request: the response when it succeeded, ``_Failure`` when it may be retried
        (a connection error, a 5xx, a 429); any other error is raised, translated."""
        self.pacer.acquire()
        with self._count_lock:
            self._count += 1
        sent_at = self._clock()
        try:
            response = self.session.request(verb, url, **kwargs)
        except requests.RequestException as error:
            reached = not _never_reached_server(error)
            return _Failure(
                problem=f"{type(error).__name__} after {self._clock() - sent_at:.1f}s",
                reached=reached,
                unreached=None if reached else _unreached_reason(error),
            )
        self._answered = True
        log.debug(
            "%s %s -> %s in %.3fs",
            verb,
            safe_path(path),
            response.status_code,
            self._clock() - sent_at,
        )
        status = response.status_code
        if status < 400:
            return response
        if status != 429 and (status < 500 or status in _NOT_RETRIED_5XX):
            raise translate_error(response, verb, path)
        asked = server_delay(response)
        if status == 429:
            # Everyone in this process waits, not just this thread.
            self.pacer.hold(asked if asked is not None else self._backoff(attempt))
        # A 429 is refused before any work is done; a 5xx may come after the work.
        return _Failure(f"HTTP {status}", reached=status != 429, asked=asked, status=status)

    def _send(
        self,
        method: str,
        url: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, Any] | None,
        data: Mapping[str, Any] | None,
        files: Mapping[str, Any] | None,
        idempotent: bool | None,
        already_applied: Callable[[], Any] | None,
        authenticate: bool,
    ) -> requests.Response | _Applied:
        """Send until it succeeds or the retry budget is spent (``_attempt`` does one request).

        Idempotent requests and those that never reached the server are simply sent again
        after a jittered backoff. A non-idempotent one that may have been applied (a 5xx, a
        connection lost after sending) is re-sent only when the caller can tell whether it was
        applied: ``already_applied`` is asked after the wait, and what it finds is returned
        instead of sending a duplicate; without it, ``Retryable`` is raised at once.

        One loop on purpose, a little over 80 lines: the retry state (attempt, budget, what
        may have been applied) lives in it, and split, every piece would need all of it.
        """
        verb = method.upper()
        if idempotent is None:
            idempotent = verb != "POST"
        shown = safe_path(path)
        started = self._clock()
        attempt = 0
        kwargs: dict[str, Any] = {
            "headers": self.auth_headers() if authenticate else {},
            "params": dict(params) if params else None,
            "data": dict(data) if data else None,
            "files": files,
            "timeout": self.timeout,
            "verify": self.verify,
        }
        if json is not NO_BODY:
            kwargs["json"] = json
        while True:
            failure = self._attempt(verb, url, path, kwargs, attempt)
            if isinstance(failure, requests.Response):
                return failure
            if failure.unreached is not None and self.fail_fast and not self._answered:
                raise MattermostUnavailable(
                    f"Mattermost does not answer at {self.base_url} ({failure.unreached}): "
                    "check ENVOL_MATTERMOST_URL and that the server is running, then try again",
                    method=verb,
                    path=shown,
                )
            may_be_applied = failure.reached and not idempotent
            if may_be_applied and already_applied is None:
                raise Retryable(
                    f"Mattermost failed ({failure.problem}) after the request may have been "
                    "applied; it was not re-sent to avoid a duplicate",
                    status_code=failure.status,
                    method=verb,
                    path=shown,
                )
            delay = max(failure.asked or 0.0, self._backoff(attempt))
            elapsed = self._clock() - started
            if elapsed + delay > self.retry_budget_seconds:
                raise MattermostUnavailable(
                    f"Mattermost is unavailable: {failure.problem}, still failing after "
                    f"{attempt + 1} attempts over {elapsed:.0f}s (retry budget "
                    f"{self.retry_budget_seconds:.0f}s). Check the server and try again later",
                    status_code=failure.status,
                    method=verb,
                    path=shown,
                )
            log.warning(
                "%s %s: %s; retry %d in %.1fs", verb, shown, failure.problem, attempt + 1, delay
            )
            self._sleep(delay)
            attempt += 1
            if may_be_applied and already_applied is not None:
                try:
                    found = already_applied()
                except Retryable:
                    found = None  # cannot tell yet; the next attempt or check will
                if found is not None:
                    log.info("%s %s had been applied; not re-sent", verb, shown)
                    return _Applied(found)


def parse_body(response: requests.Response) -> Any:
    """JSON when the server sent JSON, ``None`` for an empty body, else the raw bytes."""
    if not response.content:
        return None
    if "json" in response.headers.get("Content-Type", ""):
        try:
            return response.json()
        except ValueError:
            return None
    return response.content
