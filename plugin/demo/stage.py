"""The demo's stage: a shared simulated clock, the Mattermost sandbox, a mail catcher, the
webhooks and a worker, all on loopback, started once for every step of ``envol demo``."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from plugin import clock, db
from plugin.app import EnvolContext, build_context, set_context
from plugin.mail.catcher import MailCatcher, free_port
from plugin.sandbox import Sandbox
from plugin.settings import DeploySettings, runtime_settings_from_config


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass  # the demo prints what people see, not an access log


@dataclass
class DemoStage:
    """Everything the steps share; ``start`` builds it, ``stop`` tears it down."""

    workdir: Path
    clock: clock.SharedFileClock
    sandbox: Sandbox
    mail: MailCatcher
    settings: DeploySettings
    webhooks_url: str
    _server: BaseWSGIServer | None = None
    _worker: subprocess.Popen[bytes] | None = None
    _holder: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, workdir: Path, *, seed: int, faults: bool) -> DemoStage:
        launch = runtime_settings_from_config({}).launch_date
        shared_clock = clock.SharedFileClock(str(workdir / "clock"))
        # The campaign starts 50 days before launch day: the CEO's announcement needs 30.
        shared_clock.set(
            dt.datetime.combine(launch - dt.timedelta(days=50), dt.time(8), tzinfo=dt.UTC)
        )
        clock.set_source(shared_clock)
        os.environ[clock.CLOCK_FILE_ENV] = str(workdir / "clock")
        sandbox = Sandbox.start(contract=False, seed=seed)
        if faults:
            # What a busy production server does now and then; the adapter must absorb it.
            sandbox.set_faults(error_rate=0.05, latency=0.002, drop_rate=0.02, seed=seed)
        mail = MailCatcher.start()
        port = free_port()
        settings = DeploySettings(
            database_url=f"sqlite:///{workdir / 'envol.db'}",
            broker_url=f"sqla+sqlite:///{workdir / 'broker.db'}",
            mattermost_url=sandbox.url,
            mattermost_token=SecretStr(sandbox.admin_token),
            public_url=f"http://127.0.0.1:{port}",
            smtp_url=mail.url,
            mail_from="Envol <envol@exemple.fr>",
        )
        db.upgrade(settings.database_url)
        stage = cls(
            workdir=workdir,
            clock=shared_clock,
            sandbox=sandbox,
            mail=mail,
            settings=settings,
            webhooks_url=settings.public_url,
        )
        stage._serve_webhooks(port)
        stage._start_worker()
        return stage

    def context(self) -> EnvolContext:
        """A context on the stage's settings, installed as the process context."""
        context = build_context(self.settings)
        set_context(context)
        return context

    def use_token(self, token: str) -> EnvolContext:
        """From now on Envol acts with this token (the bot's, once it exists)."""
        self.settings = self.settings.model_copy(update={"mattermost_token": SecretStr(token)})
        context = self.context()
        self._holder["app"] = _make_app(context)
        return context

    def _serve_webhooks(self, port: int) -> None:
        self._holder["app"] = _make_app(self.context())
        holder = self._holder
        self._server = make_server(
            "127.0.0.1",
            port,
            lambda e, s: holder["app"](e, s),
            threaded=True,
            request_handler=_QuietHandler,
        )
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _start_worker(self) -> None:
        env = {
            **os.environ,
            "ENVOL_DATABASE_URL": self.settings.database_url,
            "ENVOL_BROKER_URL": self.settings.broker_url,
            "ENVOL_MATTERMOST_URL": self.settings.mattermost_url,
            "ENVOL_MATTERMOST_TOKEN": self.settings.mattermost_token.get_secret_value(),
            "ENVOL_PUBLIC_URL": self.settings.public_url,
            "ENVOL_SMTP_URL": self.settings.smtp_url,
        }
        log = (self.workdir / "worker.log").open("wb")
        self._worker = subprocess.Popen(
            [sys.executable, "-m", "plugin.cli", "worker", "--pool", "solo"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.terminate()
            try:
                self._worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._worker.kill()
        if self._server is not None:
            self._server.shutdown()
        self.mail.stop()
        self.sandbox.stop()
        os.environ.pop(clock.CLOCK_FILE_ENV, None)
        clock.reset()


def _make_app(context: EnvolContext) -> Any:
    from webhooks import create_app

    return create_app(context=context)
