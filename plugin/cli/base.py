"""What every command shares: the root group, error reporting, the console, the context."""

from __future__ import annotations

import logging
import sys
from importlib.util import find_spec
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from plugin import __version__
from plugin import app as envol_app
from plugin import db as database
from plugin.errors import EnvolError
from plugin.mattermost import fail_fast_when_unreachable

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def shown(value: object) -> str:
    """``value`` (from a person, a file, the database or an exception) escaped for Rich: put
    inside a markup line or a table cell, ``[/]`` or ``[link=…]`` in it is printed as typed,
    never read as markup (a crash, a style or a clickable link)."""
    return escape(str(value))


class EnvolGroup(click.Group):
    """Turns Envol's errors into one clear sentence and exit code 1 (traceback with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EnvolError as error:
            if ctx.find_root().params.get("debug"):
                raise
            # Escaped: a message may hold brackets (``envol[demo]``), which are not markup.
            err_console.print(f"[bold red]Error:[/] {shown(error)}")
            problems = getattr(error, "problems", None) or []
            for problem in problems:
                err_console.print(f"  • {shown(problem)}")
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as error:  # an unexpected failure: one line, the traceback on --debug
            if ctx.find_root().params.get("debug"):
                raise
            sentence = explain(error)
            if sentence is not None:
                err_console.print(f"[bold red]Error:[/] {escape(sentence)}")
                sys.exit(1)
            err_console.print(
                f"[bold red]Unexpected error:[/] {shown(type(error).__name__)}: {shown(error)} "
                "(run again with --debug for the details)"
            )
            sys.exit(1)


# The commands that run for hours: they keep retrying a Mattermost server that is down.
LONG_RUNNING = frozenset({"serve", "worker", "sandbox", "demo"})


def _broker_failure(error: BaseException) -> BaseException | None:
    """The broker's connection error (kombu, redis, amqp), found by its module: the CLI does
    not import Celery's stack (only task modules do)."""
    seen: BaseException | None = error
    for _ in range(4):
        if seen is None:
            return None
        module = type(seen).__module__.split(".")[0]
        if module in {"kombu", "redis", "amqp", "celery"} and (
            isinstance(seen, ConnectionError | OSError)
            or type(seen).__name__ in {"OperationalError", "ConnectionError", "TimeoutError"}
        ):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def explain(error: BaseException) -> str | None:
    """One sentence for a failure of the environment an admin can fix (database not migrated
    or unreachable, broker down), or None for a real bug (then: "Unexpected error")."""
    sentence = database.explain_database_error(error)
    if sentence == database.NOT_MIGRATED:
        # Opening a database that did not exist created an empty SQLite file: leave nothing.
        try:
            built = envol_app.get_context()
            built.dispose()
            database.discard_if_empty(built.settings.database_url)
        except EnvolError:
            pass
    if sentence is not None:
        return sentence
    broker = _broker_failure(error)
    if broker is not None:
        reason = str(broker).strip().splitlines()[0] if str(broker).strip() else "no answer"
        return (
            f"the task broker does not answer ({reason}): check ENVOL_BROKER_URL and that the "
            "broker (Redis, RabbitMQ) is running, then try again."
        )
    return None


@click.group(cls=EnvolGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="envol")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def root(ctx: click.Context, debug: bool) -> None:
    """Envol: launch your enterprise social network on Mattermost, the right way."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    ctx.ensure_object(dict)
    # A person waits for this command: a Mattermost server that cannot be reached is said at
    # once, in one sentence, rather than after a minute of retries and warnings.
    previous = fail_fast_when_unreachable(ctx.invoked_subcommand not in LONG_RUNNING)
    ctx.call_on_close(lambda: fail_fast_when_unreachable(previous))


def context() -> envol_app.EnvolContext:
    """The process context (settings from the environment, validated at first use)."""
    return envol_app.get_context()


# What the ``demo`` extra installs (pyproject.toml): the simulation's own dependencies.
DEMO_EXTRA_MODULES = ("aiosmtpd", "openapi_core")


def require_demo_extra(command: str) -> None:
    """The simulation (``envol demo``, ``envol sandbox``) needs the ``demo`` extra, which a
    production install leaves out: say so in one sentence rather than fail on an import."""
    missing = [name for name in DEMO_EXTRA_MODULES if find_spec(name) is None]
    if missing:
        raise EnvolError(
            f"`envol {command}` needs Envol's demo extra, not installed here "
            f"({', '.join(missing)} missing): run `pip install 'envol[demo]'`."
        )
