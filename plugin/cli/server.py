"""``envol serve``, ``envol worker`` and ``envol tasks ping``: the long-running processes."""

from __future__ import annotations

import importlib
import time
import uuid
from typing import Any

import click

from plugin.audit.service import heartbeat_seen
from plugin.cli.base import console, context, say, shown
from plugin.errors import EnvolError
from plugin.settings import require_production_secret


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the webhooks Mattermost calls (slash commands, buttons, dialogs, /join)."""
    from gunicorn.app.base import BaseApplication

    from plugin.app import follow_plugin_settings
    from webhooks import create_app, envol_context

    # The blueprints load once here, before gunicorn forks: a worker answers its first request
    # at once instead of importing them (the CLI itself loads command modules lazily).
    for blueprint in ("health", "join", "actions", "commands", "dialogs", "console"):
        importlib.import_module(f"webhooks.{blueprint}")

    settings = context().settings
    require_production_secret(settings)  # before gunicorn forks: one sentence, exit code 1

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")

        def load(self) -> Any:
            app = create_app(settings)
            follow_plugin_settings(envol_context(app))  # the System Console page, every minute
            return app

    if workers > 1 and settings.effective_rate_limit_storage == "memory://":
        console.print(say("serve.rate_limit_per_worker"))
    serving = say("serve.serving", host=host, port=port, public_url=settings.public_url)
    console.print(shown(serving))
    _Gunicorn().run()


@click.command("worker")
@click.option("--beat", is_flag=True, help="Also run the scheduler (run it in one worker only).")
@click.option("--concurrency", default=2, show_default=True, type=int)
@click.option(
    "--pool",
    default="prefork",
    show_default=True,
    type=click.Choice(["prefork", "threads", "solo"]),
)
def worker(beat: bool, concurrency: int, pool: str) -> None:
    """Run a Celery worker that sends invitations, messages and campaign steps."""
    from plugin.app import follow_plugin_settings
    from plugin.tasks import configure_celery

    ctx = context()
    require_production_secret(ctx.settings)  # the tasks sign the buttons they post
    follow_plugin_settings(ctx)  # the System Console page, re-read every minute by the tasks
    app = configure_celery(ctx.settings.broker_url)
    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", f"--pool={pool}"]
    if beat:
        argv.append("--beat")
    app.worker_main(argv)


@click.group("tasks")
def tasks_group() -> None:
    """Check the task queue."""


@tasks_group.command("ping")
@click.option(
    "--wait",
    "wait_seconds",
    default=0.0,
    type=float,
    help="Wait up to this many seconds for a worker to run it.",
)
def ping(wait_seconds: float) -> None:
    """Enqueue a heartbeat task; with --wait, check that a worker ran it."""
    from plugin.tasks import configure_celery, heartbeat

    ctx = context()
    configure_celery(ctx.settings.broker_url)
    note = f"ping-{uuid.uuid4().hex[:12]}"
    heartbeat.delay(note)
    broker = shown(ctx.settings.broker_url.split("://")[0])
    console.print(say("tasks.enqueued", note=shown(note), broker=broker))
    if not wait_seconds:
        return
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        with ctx.sessions() as session:
            found = heartbeat_seen(session, note)
        if found:
            console.print(say("tasks.ran"))
            return
        time.sleep(0.2)
    raise EnvolError(say("tasks.not_ran", seconds=f"{wait_seconds:g}"))


def register(root: click.Group) -> None:
    root.add_command(serve)
    root.add_command(worker)
    root.add_command(tasks_group)
