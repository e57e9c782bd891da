"""The demo's stage: a shared simulated clock, the Mattermost sandbox, a mail catcher, the
webhooks and a worker, all on loopback, started once for every step of ``envol demo``.

With ``mattermost_url`` (``envol demo --mattermost-url``, a rehearsal) there is no sandbox: the
steps set their scene on that server with the given system admin token (``plugin.demo.scene``),
and the webhooks listen where the server can call them back (``public_url``).

Same seed, same people, same launch: the sandbox's ids are seeded, the simulated people decide
from hashes, and the worker, which runs on its own, is waited for at fixed points (``settle``),
so that what it posts lands at the same place among the people's posts in every run. Envol's
requests then reach the sandbox in one order, so ``--faults`` (seeded draws, and a 429 every
REQUESTS_PER_429 requests) hits the same requests in every run too. Waiting for the worker
also keeps it from writing the SQLite database while the demo does.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from plugin import clock, db
from plugin.app import EnvolContext, build_context, set_context
from plugin.demo.in_process import WsgiAdapter, session_into
from plugin.demo.mail_catcher import MailCatcher, free_port
from plugin.demo.scene import SCENE_RECORD_FILE, Scene
from plugin.demo.worker import DOORBELL_ENV, PROGRESS_ENV, Doorbell, read_progress
from plugin.errors import EnvolError
from plugin.sandbox import Sandbox
from plugin.settings import DeploySettings, runtime_settings_from_config

# With --faults the sandbox also answers 429 to one of Envol's requests in REQUESTS_PER_429
# (simulated people are never limited): enough for the adapter to show it waits and retries, not
# so many that a 1,500-person demo spends minutes waiting (it waits at least a second each time).
REQUESTS_PER_429 = 150
# How long ``settle`` waits for the worker; a faulty run's retries take a few seconds at most.
SETTLE_TIMEOUT_SECONDS = 120.0
# How often ``settle`` reads the worker's progress when the worker's doorbell stays silent.
SETTLE_POLLING_SECONDS = 0.01

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    # TCP_NODELAY: an answer written in several small pieces would otherwise wait for the
    # client's delayed ACK (40 ms) between them (plugin/sandbox/server.py does the same).
    disable_nagle_algorithm = True

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass  # the demo prints what people see, not an access log


class _EveryNthRequestLimited:
    """The rate limiter's clock under ``--faults``: Mattermost's limiter (GCRA) with no burst
    refuses a request that comes sooner than one emission interval after the previous one, so
    this clock moves one interval per request, except at every ``n``-th, where it stands still.
    The interval is a power of two (1/8 s), so that the limiter's sums stay exact.

    On the wall clock, the 429s would depend on the machine's speed (a slow one never bursts)
    and on timing; on this one every run meets them at the same requests, and the retry that
    follows a 429 passes.
    """

    def __init__(self, n: int, interval: float) -> None:
        self._n, self._interval = n, interval
        self._requests = 0
        self._now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self._requests += 1
            if self._requests % self._n:
                self._now += self._interval
            return self._now


@dataclass
class DemoStage:
    """Everything the steps share; ``start`` builds it, ``stop`` tears it down."""

    workdir: Path
    clock: clock.SharedFileClock
    sandbox: Sandbox | None  # None on a real server (a rehearsal)
    mail: MailCatcher
    settings: DeploySettings
    webhooks_url: str
    scene: Scene
    # Where the stage's servers listen: loopback, or every interface when a real server must
    # reach them; ``public_url`` says how that server reaches them.
    listen_host: str = "127.0.0.1"
    _server: BaseWSGIServer | None = None
    _worker: subprocess.Popen[bytes] | None = None
    _holder: dict[str, Any] = field(default_factory=dict)
    # Tasks this process sent to the worker since it started (the webhooks send them).
    _tasks_sent: int = 0
    _tasks_lock: threading.Lock = field(default_factory=threading.Lock)
    # Held for the whole demo: SQLite checkpoints its WAL whenever the last connection to the
    # file closes, and the processes' pools (the worker's, a step's own engine) come and go.
    _keep_open: sqlite3.Connection | None = None
    # The stage's end of the doorbell shared with the current worker (plugin/demo/worker.py).
    _doorbell: Doorbell | None = None

    @property
    def mattermost_url(self) -> str:
        return self.scene.url

    @property
    def admin_token(self) -> str:
        """The system admin's token the scene is set with (the sandbox's, or ``--token``)."""
        return self.scene.admin_token

    @property
    def rehearsal(self) -> bool:
        """On a real Mattermost rather than the sandbox."""
        return self.sandbox is None

    def public_url_on(self, port: int) -> str:
        """The address the Mattermost server reaches for a server of this stage on ``port``
        (the support step's own webhooks): ``public_url``'s host, that port."""
        parts = urlsplit(self.settings.public_url)
        return urlunsplit((parts.scheme, f"{parts.hostname}:{port}", "", "", ""))

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        seed: int,
        faults: bool,
        contract: bool = False,
        mattermost_url: str | None = None,
        token: str | None = None,
        public_url: str | None = None,
    ) -> DemoStage:
        """With ``contract`` the sandbox checks every request and answer (Envol's and the
        simulated people's) against Mattermost's OpenAPI spec (``ENVOL_MM_OPENAPI``); the
        violations are in ``sandbox.violations``. Slower: every exchange is validated.

        With ``mattermost_url`` and ``token`` (a system admin's) the launch is rehearsed on
        that server: no sandbox, so no ``faults`` nor ``contract``; ``public_url`` is where
        that server reaches the webhooks (default: a loopback port, for a server on this
        machine)."""
        if mattermost_url is not None and (faults or contract):
            raise EnvolError(
                "--faults and --contract act inside the sandbox: they cannot be used with "
                "--mattermost-url (a real server)."
            )
        if mattermost_url is not None and not token:
            raise EnvolError("--mattermost-url needs --token: a system admin's access token.")
        launch = runtime_settings_from_config({}).launch_date
        # The stage alone moves the demo's time; its worker and the CLI only read the file.
        shared_clock = clock.SharedFileClock(str(workdir / "clock"), sole_writer=True)
        # The campaign starts 50 days before launch day: the CEO's announcement needs 30.
        shared_clock.set(
            dt.datetime.combine(launch - dt.timedelta(days=50), dt.time(8), tzinfo=dt.UTC)
        )
        clock.set_source(shared_clock)
        os.environ[clock.CLOCK_FILE_ENV] = str(workdir / "clock")
        listen_host, port = "127.0.0.1", free_port()
        if public_url is not None:
            listen_host, port = _listen_address(public_url)
        if mattermost_url is not None:
            sandbox = None
            scene = Scene(mattermost_url, str(token), record=workdir / SCENE_RECORD_FILE)
            try:
                scene.client.get_me()  # a wrong URL or token fails here, before anything runs
            except EnvolError:
                scene.close()
                raise
        else:
            sandbox = cls._start_sandbox(seed=seed, faults=faults, contract=contract)
            scene = Scene(sandbox.url, sandbox.admin_token)
        mail = MailCatcher.start()
        settings = DeploySettings(
            database_url=f"sqlite:///{workdir / 'envol.db'}",
            broker_url=f"sqla+sqlite:///{workdir / 'broker.db'}",
            mattermost_url=scene.url,
            mattermost_token=SecretStr(scene.admin_token),
            public_url=(public_url or f"http://127.0.0.1:{port}").rstrip("/"),
            smtp_url=mail.url,
            mail_from="Envol <envol@exemple.fr>",
            secret_key=SecretStr(demo_secret_key()),
            example_facts=True,  # the demo's example company and launch date, knowingly
        )
        db.upgrade(settings.database_url)
        stage = cls(
            workdir=workdir,
            clock=shared_clock,
            sandbox=sandbox,
            mail=mail,
            settings=settings,
            webhooks_url=settings.public_url,
            scene=scene,
            listen_host=listen_host,
            _keep_open=sqlite3.connect(workdir / "envol.db", check_same_thread=False),
        )
        from celery import signals

        signals.after_task_publish.connect(stage._task_sent, weak=False)
        stage._serve_webhooks(port)
        stage._start_worker()
        return stage

    @staticmethod
    def _start_sandbox(*, seed: int, faults: bool, contract: bool) -> Sandbox:
        sandbox = Sandbox.start(contract=contract, seed=seed)
        if contract and not sandbox.contract_enabled:
            sandbox.stop()
            raise EnvolError(
                f"--contract needs Mattermost's OpenAPI spec ({sandbox.contract_status}): "
                "set ENVOL_MM_OPENAPI to its openapi.yaml."
            )
        if faults:
            # What a busy production server does now and then; the adapter must absorb it.
            sandbox.set_faults(error_rate=0.05, latency=0.002, drop_rate=0.02, seed=seed)
            sandbox.set_rate_limit(
                8, burst=0, clock=_EveryNthRequestLimited(REQUESTS_PER_429, interval=1 / 8)
            )
        return sandbox

    def context(self) -> EnvolContext:
        """A context on the stage's settings, installed as the process context."""
        context = build_context(self.settings)
        set_context(context)
        return context

    def use_token(self, token: str) -> EnvolContext:
        """From now on Envol acts with this token (the bot's, once it exists): the webhooks
        at once, the worker after a restart (it read its token from the environment)."""
        self.settings = self.settings.model_copy(update={"mattermost_token": SecretStr(token)})
        context = self.context()
        self._holder["app"] = _make_app(context, self.sandbox)
        if self._worker is not None:
            self.settle()
            self._stop_worker()
            self._start_worker()
        return context

    def settle(self, timeout: float = SETTLE_TIMEOUT_SECONDS) -> bool:
        """Wait until the worker has finished every task sent so far, including the ones its
        own tasks sent; False if it died or ``timeout`` passed (then the run goes on, and two
        runs may differ: a warning says so)."""
        if self._worker is None:
            return True
        deadline = time.monotonic() + timeout
        while True:
            finished, sent_by_worker = read_progress(self._progress_path)
            with self._tasks_lock:
                sent = self._tasks_sent
            if finished >= sent + sent_by_worker:
                return True
            if self._worker.poll() is not None or time.monotonic() > deadline:
                log.warning(
                    "the demo's worker finished %d of %d tasks (%s); going on without it",
                    finished, sent + sent_by_worker,
                    "it stopped" if self._worker.poll() is not None else "timed out",
                )  # fmt: skip
                return False
            if self._doorbell is not None:
                self._doorbell.wait(SETTLE_POLLING_SECONDS)  # the worker rings on progress
            else:
                time.sleep(SETTLE_POLLING_SECONDS)

    def _task_sent(self, **_: Any) -> None:
        with self._tasks_lock:
            self._tasks_sent += 1
        doorbell = self._doorbell
        if doorbell is not None:
            doorbell.ring()  # the worker looks at the broker now, not at its next poll

    def fault_tally(self) -> dict[str, int]:
        """What the sandbox did to Envol's requests: injected "error", "drop", "timeout" and
        "rate_limited" (429), by kind, from its request log."""
        tally: dict[str, int] = {}
        if self.sandbox is None:
            return tally  # a real server: nothing injected, and its log is not ours to read
        for entry in self.sandbox.request_log:
            if entry.fault:
                tally[entry.fault] = tally.get(entry.fault, 0) + 1
        return dict(sorted(tally.items()))

    def envol_request_count(self) -> int:
        """Requests the sandbox received from Envol (a bot or a system admin), retries included;
        dropped connections are logged without a user, so they are added too. Unknown (0) on a
        real server, whose request log this process cannot read."""
        if self.sandbox is None:
            return 0
        state = self.sandbox.state
        with state.lock:
            envol = {
                uid for uid, u in state.users.items() if u["is_bot"] or "system_admin" in u["roles"]
            }
        return sum(
            1 for entry in self.sandbox.request_log if entry.user_id in envol or entry.status == 0
        )

    def _serve_webhooks(self, port: int) -> None:
        self._holder["app"] = _make_app(self.context(), self.sandbox)
        holder = self._holder

        def webhooks(environ: dict[str, Any], start_response: Any) -> Any:
            return holder["app"](environ, start_response)  # the app of the current token

        self._server = make_server(
            self.listen_host, port, webhooks, threaded=True, request_handler=_QuietHandler
        )
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        if self.sandbox is not None:
            # The sandbox's calls to these webhooks (a person's slash command, button, dialog)
            # reach the application in process; a browser and the worker still use the port.
            self.sandbox.integrations.mount(f"{self.webhooks_url}/", WsgiAdapter(webhooks))

    @property
    def _progress_path(self) -> Path:
        return self.workdir / "worker.progress"

    def _start_worker(self) -> None:
        env = {
            **os.environ,
            "ENVOL_DATABASE_URL": self.settings.database_url,
            "ENVOL_BROKER_URL": self.settings.broker_url,
            "ENVOL_MATTERMOST_URL": self.settings.mattermost_url,
            "ENVOL_MATTERMOST_TOKEN": self.settings.mattermost_token.get_secret_value(),
            "ENVOL_PUBLIC_URL": self.settings.public_url,
            "ENVOL_SMTP_URL": self.settings.smtp_url,
            "ENVOL_SECRET_KEY": self.settings.secret_key.get_secret_value(),
            PROGRESS_ENV: str(self._progress_path),
        }
        # A new worker counts from zero: so does this side.
        self._progress_path.unlink(missing_ok=True)
        with self._tasks_lock:
            self._tasks_sent = 0
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        env[DOORBELL_ENV] = str(theirs.fileno())
        try:
            with (self.workdir / "worker.log").open("ab") as worker_log:
                self._worker = subprocess.Popen(
                    [sys.executable, "-m", "plugin.demo.worker"],
                    env=env,
                    stdout=worker_log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(theirs.fileno(),),
                )
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()  # the worker holds its own copy
        self._doorbell = Doorbell(mine)

    def _stop_worker(self) -> None:
        doorbell, self._doorbell = self._doorbell, None
        try:
            if self._worker is None:
                return
            self._worker.terminate()
            if doorbell is not None:
                doorbell.ring()  # the worker, waiting for a task, sees the shutdown at once
            try:
                self._worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._worker.kill()
                self._worker.wait()
            self._worker = None
        finally:
            if doorbell is not None:
                doorbell.close()

    def stop(self) -> None:
        from celery import signals

        signals.after_task_publish.disconnect(self._task_sent)
        self._stop_worker()
        if self._server is not None:
            self._server.shutdown()
        self.mail.stop()
        self.scene.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        if self._keep_open is not None:
            self._keep_open.close()
            self._keep_open = None
        os.environ.pop(clock.CLOCK_FILE_ENV, None)
        clock.reset()
        _forget_broker_connections()


def _listen_address(public_url: str) -> tuple[str, int]:
    """Where to listen for ``public_url``: its port, on loopback when it names this machine's
    loopback, else on every interface (the address may be a NAT's or a host name)."""
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EnvolError(f"--public-url {public_url!r}: write http://HOST:PORT")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    return ("127.0.0.1" if loopback else "0.0.0.0", port)


def demo_secret_key() -> str:
    """``ENVOL_SECRET_KEY`` when set, else a random key for this demo only: Envol refuses to
    serve with the built-in development key, and the demo's links die with the demo anyway."""
    return os.environ.get("ENVOL_SECRET_KEY") or secrets.token_urlsafe(32)


def _forget_broker_connections() -> None:
    """Drop the Celery app's pooled broker connections, as Celery does after a fork.

    The webhooks configure the process-wide app with this stage's broker, but the connection
    pool is built once, at the first task sent: a second stage in the same process (``envol
    demo --compare``, the tests) would otherwise send its tasks to the first stage's broker,
    which no worker reads any more.
    """
    from plugin.tasks import celery_app

    pool = celery_app._pool
    if pool is not None:
        pool.force_close_all()
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def _make_app(context: EnvolContext, sandbox: Sandbox | None) -> Any:
    from webhooks import create_app

    return create_app(
        context=context,
        mattermost_session=None
        if sandbox is None
        else session_into(sandbox.wsgi_app, context.settings.mattermost_url),
    )
