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
from plugin.errors import EnvolError

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
            err_console.print(
                f"[bold red]Unexpected error:[/] {shown(type(error).__name__)}: {shown(error)} "
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
