"""What every command shares: the root group, error reporting, the console, the context."""

from __future__ import annotations

import logging
import os
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from plugin import __version__, i18n
from plugin import app as envol_app
from plugin.errors import EnvolError


class EnvolConsole(Console):
    """The CLI's console: a table too wide for the terminal to keep its words whole is printed
    as a list instead (``print_table``), so nothing is ever cut at 80 columns."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if len(objects) == 1 and isinstance(objects[0], Table) and not kwargs:
            print_table(objects[0], self)
            return
        super().print(*objects, **kwargs)


console = EnvolConsole(highlight=False)
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


# --------------------------------------------------------------------------- tables at any width


def table_fits(table: Table, out: Console) -> bool:
    """Whether ``table`` fits the terminal with every word whole. Rich cuts a word that does
    not fit its column with "…" (its columns are set so: ``fold`` would cut silently), so the
    table is drawn once, unseen, and looked at."""
    # Measured without the terminal's bound, which would clamp the minimum to the width.
    unbounded = out.options.update_width(10_000)
    if Measurement.get(out, unbounded, table).minimum > out.width:
        return False
    for column in table.columns:
        column.overflow = "ellipsis"
    already = sum(str(cell).count("…") for column in table.columns for cell in column.cells)
    already += str(table.title or "").count("…") + str(table.caption or "").count("…")
    with out.capture() as drawn:
        Console.print(out, table)
    return drawn.get().count("…") <= already


def print_table(table: Table, out: Console | None = None) -> None:
    """A table when it fits the terminal with each row's key (its first cell) on one line and
    every word whole, else the same rows as a list: each row's key, then one ``column: value``
    line per other cell, wrapped between words."""
    out = out or console
    if table.columns:
        table.columns[0].no_wrap = True  # a row's key (a name, a setting) on one line
    if table_fits(table, out):
        Console.print(out, table)
        return
    if table.title:
        Console.print(out, Text.from_markup(str(table.title), style="bold"))
    headers = [str(column.header) for column in table.columns]
    columns = [list(column.cells) for column in table.columns]
    for index in range(table.row_count):
        cells = [column[index] if index < len(column) else "" for column in columns]
        # A row number alone says little: the row is named by its number and its next cell.
        named_by = 2 if len(cells) > 2 and str(cells[0]).strip().isdigit() else 1
        name = " · ".join(str(cell) for cell in cells[:named_by])
        Console.print(
            out, Padding(Text.from_markup(name, style="bold"), (0, 0, 0, 2), expand=False)
        )
        details = Table.grid(padding=(0, 1))
        details.add_column(no_wrap=True, style="dim")
        details.add_column()
        for header, cell in zip(headers[named_by:], cells[named_by:], strict=False):
            if str(cell).strip():
                details.add_row(f"{header}:", cell)
        Console.print(out, Padding(details, (0, 0, 0, 4), expand=False))
    if table.caption:
        Console.print(out, table.caption)


# ------------------------------------------------------------------- the operator's language

LANG_ENVVAR = "ENVOL_LANG"
_LANG_KEY = "envol.lang"
MESSAGES = Path(__file__).with_name("messages.yaml")


def _remember_language(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        language = i18n.pick_language(value, default="")
        if not language:
            raise click.BadParameter(
                f"{value!r} is not a language Envol speaks: use fr or en "
                f"(option --lang or {LANG_ENVVAR})."
            )
        ctx.meta[_LANG_KEY] = language


def cli_language() -> str:
    """The operator's language: ``--lang``, else ``ENVOL_LANG``, else the plugin's default
    language setting (the report's), else French."""
    ctx = click.get_current_context(silent=True)
    chosen = ctx.meta.get(_LANG_KEY) if ctx is not None else None
    if chosen:
        return str(chosen)
    from_env = i18n.pick_language(os.environ.get(LANG_ENVVAR), default="")
    if from_env:
        return from_env
    try:
        return context().runtime.current.default_language
    except EnvolError:  # no settings yet (before `envol db upgrade`): the default
        return "fr"


def say(key: str, /, **values: Any) -> str:
    """The CLI's message ``key`` (``plugin/cli/messages.yaml``) in the operator's language."""
    return i18n.load_catalogue(MESSAGES).render(key, cli_language(), **values)


root.params.append(
    click.Option(
        ["--lang"],
        metavar="fr|en",
        envvar=LANG_ENVVAR,
        expose_value=False,
        is_eager=True,
        callback=_remember_language,
        help=f"Language of the messages and reports (default: ${LANG_ENVVAR}, else the settings').",
    )
)
