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


class EnvolGroup(click.Group):
    """Turns Envol's errors into one clear sentence and exit code 1 (traceback with --debug)."""

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


# --------------------------------------------------------------------------- irreversible commands


def irreversible(command: Any) -> Any:
    """Mark a command that changes what people see and cannot be taken back.

    Adds ``--dry-run`` (show the plan, write nothing) and ``--yes`` (no question, for scripts).
    The command shows what it will do, then calls ``confirm_irreversible`` before writing.
    """
    command = click.option(
        "--yes", "-y", is_flag=True, help="Do not ask for confirmation (for scripts)."
    )(command)
    return click.option("--dry-run", is_flag=True, help="Show the plan; write nothing.")(command)


def has_terminal() -> bool:
    """Whether someone can answer a question (stdin is a terminal)."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        return False


def confirm_irreversible(what: str, *, yes: bool) -> None:
    """Ask before ``what`` (a sentence without its final punctuation); ``--yes`` skips it.

    Without a terminal and without ``--yes`` it refuses rather than assume a yes: a script
    that forgot ``--yes`` stops here, before anything is written."""
    if yes:
        return
    if not has_terminal():
        raise EnvolError(
            f"{what} needs a confirmation and there is no terminal to ask on: "
            "run it again with --yes (or with --dry-run to see the plan only)."
        )
    if not click.confirm(f"{what}?", default=False):
        raise EnvolError("not confirmed: nothing was changed.")
