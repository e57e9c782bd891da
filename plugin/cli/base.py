"""What every command shares: the root group, error reporting, the console, the context."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from contextlib import AbstractContextManager
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from plugin import __version__
from plugin.errors import EnvolError, Localizable
from plugin.interactive import fail_fast_when_unreachable

if TYPE_CHECKING:  # the CLI's top level stays light: SQLAlchemy and the rest load on use
    from sqlalchemy.orm import Session, sessionmaker

    from plugin import app as envol_app


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


def shown(value: object) -> str:
    """``value`` (from a person, a file, the database or an exception) escaped for Rich: put
    inside a markup line or a table cell, ``[/]`` or ``[link=…]`` in it is printed as typed,
    never read as markup (a crash, a style or a clickable link)."""
    return escape(str(value))


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
            language = _error_language()
            # Escaped: a message may hold brackets (``envol[demo]``), which are not markup.
            label = _error_label(language)
            err_console.print(f"[bold red]{shown(label)}[/] {shown(error.localized(language))}")
            for problem in error.localized_problems(language):
                err_console.print(f"  • {shown(problem)}")
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as error:  # an unexpected failure: one line, the traceback on --debug
            if ctx.find_root().params.get("debug"):
                raise
            sentence = explain(error)
            if sentence is not None:
                language = _error_language()
                label = _error_label(language)
                err_console.print(
                    f"[bold red]{escape(label)}[/] {escape(sentence.localized(language))}"
                )
                sys.exit(1)
            language = _error_language()
            label, debug = _unexpected_words(language)
            err_console.print(
                f"[bold red]{shown(label)}[/] {shown(type(error).__name__)}: {shown(error)} "
                f"{shown(debug)}"
            )
            sys.exit(1)


def _error_language() -> str:
    """The operator's language for an error; English when even that cannot be known (the
    settings themselves may be what failed)."""
    try:
        return cli_language()
    except Exception:  # reporting an error must not raise another one
        return "en"


def _error_label(language: str) -> str:
    from plugin import i18n

    return i18n.load_catalogue(MESSAGES).render("error", language)


def interrupted_word() -> str:
    """ "interrupted", said when Ctrl-C stops a command (the settings may be what it waited on:
    English when even the operator's language cannot be known)."""
    try:
        from plugin import i18n

        return i18n.load_catalogue(MESSAGES).render("interrupted", _error_language())
    except Exception:  # reporting an interruption must not raise another error
        return "interrupted"


def _unexpected_words(language: str) -> tuple[str, str]:
    """ "Unexpected error:" and the hint to run with --debug; in English when even the
    catalogue cannot be read (reporting an error must not raise another one)."""
    try:
        from plugin import i18n

        catalogue = i18n.load_catalogue(MESSAGES)
        return (
            catalogue.render("unexpected_error", language),
            catalogue.render("unexpected_error.debug", language),
        )
    except Exception:
        return "Unexpected error:", "(run again with --debug for the details)"


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


# The library each broker URL scheme needs (kombu imports it on first use), and how to get it.
BROKER_LIBRARIES: dict[str, tuple[str, str]] = {
    "redis": ("redis", "pip install 'envol[redis]'"),
    "rediss": ("redis", "pip install 'envol[redis]'"),
    "amqp": ("amqp", "pip install amqp"),
    "amqps": ("amqp", "pip install amqp"),
    "pyamqp": ("amqp", "pip install amqp"),
    "sqla+sqlite": ("sqlalchemy", "pip install 'kombu[sqlalchemy]'"),
}
_BROKER_STACK = ("kombu", "celery", "amqp", "redis", "limits")


def _raised_in_broker_stack(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) came from the task queue's libraries: a missing
    library shows there as an ``ImportError``, or as an ``AttributeError`` on ``None`` (kombu
    keeps ``redis = None`` when the import fails)."""
    seen: BaseException | None = error
    for _ in range(4):
        if seen is None:
            return False
        trace = seen.__traceback__
        while trace is not None:
            module = str(trace.tb_frame.f_globals.get("__name__", ""))
            if module.split(".")[0] in _BROKER_STACK:
                return True
            trace = trace.tb_next
        seen = seen.__cause__ or seen.__context__
    return False


def _said(key: str, /, **values: Any) -> Localizable:
    """The CLI's message ``key``, worded when printed (in the operator's language)."""
    from plugin import i18n

    return i18n.messages_of(MESSAGES)(key, **values)


def missing_broker_library(broker_url: str) -> Localizable | None:
    """The sentence for a broker URL whose library is not installed (None when it is)."""
    scheme = broker_url.split("://", 1)[0].lower()
    needed = BROKER_LIBRARIES.get(scheme)
    if needed is None:
        return None
    module, install = needed
    try:
        importlib.import_module(module)
    except ImportError:
        return _said("env.broker_library_missing", scheme=scheme, module=module, install=install)
    return None


def explain(error: BaseException) -> Localizable | None:
    """One sentence for a failure of the environment an admin can fix (database not migrated
    or unreachable, broker down or its library missing), or None for a real bug (then:
    "Unexpected error"). Worded when printed, in the operator's language."""
    from plugin import app as envol_app
    from plugin import db as database

    failure = database.database_failure(error)
    if failure is not None and failure.kind == "not_migrated":
        # Opening a database that did not exist created an empty SQLite file: leave nothing.
        try:
            built = envol_app.get_context()
            built.dispose()
            database.discard_if_empty(built.settings.database_url)
        except EnvolError:
            pass
    if failure is not None:
        return _said(f"env.database_{failure.kind}", reason=failure.reason)
    if _raised_in_broker_stack(error):
        try:
            missing = missing_broker_library(envol_app.get_context().settings.broker_url)
        except EnvolError:  # no settings: nothing more to say about the broker
            missing = None
        if missing is not None:
            return missing
    broker = _broker_failure(error)
    if broker is not None:
        reason = str(broker).strip().splitlines()[0] if str(broker).strip() else "no answer"
        return _said("env.broker_no_answer", reason=reason)
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
    from plugin import app as envol_app

    return envol_app.get_context()


def transaction(sessions: sessionmaker[Session]) -> AbstractContextManager[Session]:
    """``plugin.db.transaction``, imported on use: SQLAlchemy is not loaded for ``--help``."""
    from plugin.db import transaction as database_transaction

    return database_transaction(sessions)


# What the ``demo`` extra installs (pyproject.toml): the simulation's own dependencies.
DEMO_EXTRA_MODULES = ("aiosmtpd", "openapi_core", "websocket", "simple_websocket")


def require_demo_extra(command: str) -> None:
    """The simulation (``envol demo``, ``envol sandbox``) needs the ``demo`` extra, which a
    production install leaves out: say so in one sentence rather than fail on an import."""
    missing = [name for name in DEMO_EXTRA_MODULES if find_spec(name) is None]
    if missing:
        raise EnvolError(_said("demo_extra_missing", command=command, missing=", ".join(missing)))


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
                details.add_row(_list_label(header), cell)
        Console.print(out, Padding(details, (0, 0, 0, 4), expand=False))
    if table.caption:
        Console.print(out, table.caption)


def _list_label(header: str) -> str:
    """``header:`` / ``header :``: a column's name before its value, in the list form."""
    try:
        return say("list_label", header=header)
    except Exception:  # a table printed where no catalogue can be read: the plain form
        return f"{header}:"


# ------------------------------------------------------------------- the operator's language

LANG_ENVVAR = "ENVOL_LANG"
_LANG_KEY = "envol.lang"
MESSAGES = Path(__file__).with_name("messages.yaml")


def _remember_language(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        from plugin import i18n

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
    from plugin import i18n

    from_env = i18n.pick_language(os.environ.get(LANG_ENVVAR), default="")
    if from_env:
        return from_env
    try:
        return context().runtime.current.default_language
    except EnvolError:  # no settings yet (before `envol db upgrade`): the default
        return "fr"


def say(key: str, /, **values: Any) -> str:
    """The CLI's message ``key`` (``plugin/cli/messages.yaml``) in the operator's language."""
    from plugin import i18n  # YAML, Jinja2 and Babel: loaded by the commands that speak

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
    from plugin import i18n  # loaded by the commands that ask, not by ``envol --help``

    # Worded when printed, in the operator's language (``EnvolError.localized``).
    said = i18n.messages_of(MESSAGES)
    if not has_terminal():
        raise EnvolError(said("needs_confirmation", what=what))
    if not click.confirm(f"{what}?", default=False):
        raise EnvolError(said("not_confirmed"))
