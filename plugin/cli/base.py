"""What every command shares: the root group, error reporting, the console, the context."""

from __future__ import annotations

import importlib
import logging
import sys
from contextlib import AbstractContextManager
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from plugin import __version__
from plugin.errors import EnvolError

if TYPE_CHECKING:  # the CLI's top level stays light: SQLAlchemy and the rest load on use
    from sqlalchemy.orm import Session, sessionmaker

    from plugin import app as envol_app

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class EnvolGroup(click.Group):
    """Turns Envol's errors into one clear sentence and exit code 1 (traceback with --debug).

    Command modules load on demand: ``lazy`` maps a command name to (module, short help), and
    only the module of the command being run is imported. ``envol --help`` lists the commands
    from that table without importing any of them (``tests/foundation/test_cli_startup.py``
    checks the short help there is the command's own).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[str, str]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module = importlib.import_module(self.lazy[cmd_name][0])
            module.register(self)
        return self.commands.get(cmd_name)

    def load_all(self) -> None:
        """Import every command module (tests, and tools that walk the whole command tree)."""
        for name in self.lazy:
            self.get_command(click.Context(self), name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)
        for name in names:
            loaded = self.commands.get(name)
            if loaded is not None and loaded.hidden:
                continue
            short = (
                loaded.get_short_help_str(limit)
                if loaded is not None
                else click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit)
            )
            rows.append((name, short))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EnvolError as error:
            if ctx.find_root().params.get("debug"):
                raise
            # Escaped: a message may hold brackets (``envol[demo]``), which are not markup.
            err_console.print(f"[bold red]Error:[/] {escape(str(error))}")
            problems = getattr(error, "problems", None) or []
            for problem in problems:
                err_console.print(f"  • {escape(str(problem))}")
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as error:  # an unexpected failure: one line, the traceback on --debug
            if ctx.find_root().params.get("debug"):
                raise
            err_console.print(
                f"[bold red]Unexpected error:[/] {type(error).__name__}: {error} "
                "(run again with --debug for the details)"
            )
            sys.exit(1)


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


def context() -> envol_app.EnvolContext:
    """The process context (settings from the environment, validated at first use)."""
    from plugin import app as envol_app

    return envol_app.get_context()


def transaction(sessions: sessionmaker[Session]) -> AbstractContextManager[Session]:
    """``plugin.db.transaction``, imported on use: SQLAlchemy is not loaded for ``--help``."""
    from plugin.db import transaction as database_transaction

    return database_transaction(sessions)


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
