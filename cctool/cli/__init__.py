"""The `cctool` command: one Typer app per command group, joined here. The CLI parses and prints only."""

from __future__ import annotations

import importlib
import signal
import sqlite3
import sys
from pathlib import Path

import typer

try:  # typer >= 0.26 carries its own copy of click
    from typer._click import exceptions as clickx
except ImportError:  # pragma: no cover - older typer on plain click
    from click import exceptions as clickx  # type: ignore[no-redef]

from .. import __version__
from ..children import raise_interrupt, signals_handled
from ..errors import UsageError, UserError
from ..store import DAMAGED_ADVICE, default_db_path
from .common import Options, options

app = typer.Typer(
    name="cctool",
    help="Operations toolkit for small call-center teams, on one SQLite file.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    """`cctool --version` on its own: printed while the line is parsed, before a command is asked for."""
    if value:
        typer.echo(f"cctool {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    db: Path | None = typer.Option(None, "--db", help="Database file (else $CCTOOL_DB, else ./cctool.db)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
    actor: str | None = typer.Option(
        None, "--as", help="Who is acting (else $CCTOOL_ACTOR, else the OS user)."
    ),
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
    ),
) -> None:
    opts = options(ctx)
    opts.db = db or opts.db
    opts.json = json_out or opts.json
    opts.quiet = quiet or opts.quiet
    if actor is not None:
        if not actor.strip():  # a blank name would be written to the audit log as who acted
            raise UsageError("--as needs a name (who is acting, e.g. --as amy)")
        opts.actor = actor.strip()


# Each command (group) and the module that defines it. Only the one named on the line is imported: each
# module pulls its services in (the dialer, the SIP stack, Jinja2, phonenumbers...), and all of them
# together cost about 20 MB and 0.1-0.2 s a command (`audit export` runs at the edge of its memory
# budget; cron runs `callback due` every few minutes). Help without a command lists them all.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("db_cmd", "init", "Create or migrate the database."),
    "contacts": ("contacts_cmd", "app", "Import, list, show, export and erase contacts."),
    "consent": ("consent_cmd", "app", "Consent records (append-only; the latest is in force)."),
    "dnc": ("dnc_cmd", "app", "Do-not-call lists: the national registry copy and your own list."),
    "optout": ("optout_cmd", "optout", "Opt a number out of every campaign, effective at once."),
    "campaign": ("campaign_cmd", "app", "Campaign definitions, preview, pause and resume."),
    "script": ("script_cmd", "app", "Call scripts rendered for one contact."),
    "dial": ("dial_cmd", "app", "Run a campaign on a trunk; see its progress."),
    "report": ("report_cmd", "app", "Campaign KPIs and charts."),
    "trunk": ("trunk_cmd", "app", "Check a SIP trunk or place one call through it."),
    "ticket": ("ticket_cmd", "app", "Tickets: inquiries, complaints, orders, returns."),
    "callback": ("callback_cmd", "app", "Callbacks: schedule, due (for cron), claim, done."),
    "audit": ("audit_cmd", "app", "The hash-chained operations log; the auditor's export and its check."),
    "db": ("db_cmd", "app", "Schema status."),
    "demo": ("demo_cmd", "demo", "Run an end-to-end demo on a fresh database."),
}


def _register(name: str) -> None:
    module, attribute, text = _COMMANDS[name]
    found = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    if isinstance(found, typer.Typer):
        app.add_typer(found, name=name, help=text)
    else:
        app.command(name, help=text)(found)


def command_named(args: list[str]) -> str | None:
    """The command a (hoisted) command line names: its first word that is not a global option."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _GLOBAL_VALUED:
            i += 2
            continue
        if not arg.startswith("-"):
            return arg
        i += 1
    return None


def load_commands(args: list[str]) -> None:
    """Register the command the line names, or every command when it names none we know (help)."""
    named = command_named(args)
    wanted = [named] if named in _COMMANDS else list(_COMMANDS)
    registered = {group.name for group in app.registered_groups} | {c.name for c in app.registered_commands}
    for name in wanted:
        if name not in registered:
            _register(name)
    order = list(_COMMANDS)  # help lists them in this order, whatever was registered first
    app.registered_commands.sort(key=lambda info: order.index(info.name or ""))
    app.registered_groups.sort(key=lambda info: order.index(info.name or ""))


# Global options may stand anywhere on the line (`cctool contacts list --json`); they are hoisted to the front.
_GLOBAL_FLAGS = {"--json", "--quiet", "-q"}
_GLOBAL_VALUED = {"--db", "--as"}


def hoist_globals(args: list[str]) -> list[str]:
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if arg in _GLOBAL_FLAGS or name in _GLOBAL_VALUED and "=" in arg:
            front.append(arg)
        elif arg in _GLOBAL_VALUED and i + 1 < len(args):
            front.extend(args[i : i + 2])
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


# What SQLite says of the database file itself (not of a statement), and what to do about it.
_DATABASE_TROUBLE = (
    (("locked", "busy"), "is busy ({exc}): try again when the other run has finished"),
    (("readonly",), "cannot be written ({exc}): check the permissions of the file and its -wal and -shm"),
    (
        ("malformed", "not a database", "disk i/o error"),
        "is damaged or unreadable ({exc}): " + DAMAGED_ADVICE,
    ),
    (("database or disk is full",), "cannot grow ({exc}): free some disk space and try again"),
)


def database_trouble(exc: sqlite3.DatabaseError) -> str | None:
    """The one line for an error SQLite reports about the database file, or None for any other."""
    text = str(exc).lower()
    for words, reason in _DATABASE_TROUBLE:
        if any(word in text for word in words):
            return reason.format(exc=exc)
    return None


INTERRUPTED = 130
INTERRUPTED_MESSAGE = "cctool: interrupted; nothing half-written was kept"


def main(argv: list[str] | None = None) -> int:
    """Entry point: exit 0 on success, 1 with one line on stderr for a failure, 2 for a usage error."""
    args = hoist_globals(list(sys.argv[1:] if argv is None else argv))
    load_commands(args)
    command = typer.main.get_command(app)
    code = 0
    opts = Options()
    try:
        # SIGTERM (cron's or a timeout's kill) stops any command as Ctrl-C does: its transaction rolled
        # back, its temporary files and helpers gone, exit 130 (an import so killed left its staging
        # files and its workers' tracebacks)
        with signals_handled(raise_interrupt, signal.SIGTERM):
            result = command.main(args=args, prog_name="cctool", standalone_mode=False, obj=opts)
        code = result if isinstance(result, int) else 0
        if code == INTERRUPTED:  # typer turns Ctrl-C into Exit(130) itself, after the rollback
            typer.echo(INTERRUPTED_MESSAGE, err=True)
    except clickx.UsageError as exc:  # one line, as every other error (Click's own block takes four)
        where = exc.ctx.command_path if exc.ctx is not None else "cctool"
        message = exc.format_message().rstrip(".")
        if message:  # none when a bare group printed its help (`cctool dial`)
            typer.echo(f"cctool: {message} (see `{where} --help`)", err=True)
        code = 2
    except typer.Abort:
        typer.echo(INTERRUPTED_MESSAGE, err=True)
        code = INTERRUPTED
    except clickx.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except UserError as exc:
        typer.echo(f"cctool: {exc}", err=True)
        code = exc.exit_code
    except sqlite3.DatabaseError as exc:
        reason = database_trouble(exc)
        if reason is None:  # an error in cctool's own SQL: a bug, with its traceback
            raise
        typer.echo(f"cctool: database {opts.db or default_db_path()} {reason}", err=True)
        code = 1
    except OverflowError as exc:  # `--limit 9223372036854775808`, an id of 30 digits: SQLite stops at 2**63
        typer.echo(
            f"cctool: a number given is too large ({exc}): give one below 9223372036854775808", err=True
        )
        code = 2
    except KeyboardInterrupt:
        typer.echo(INTERRUPTED_MESSAGE, err=True)
        code = INTERRUPTED
    except BrokenPipeError:
        code = 0
    return code
