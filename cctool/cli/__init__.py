"""The `cctool` command: one Typer app per command group, joined here. The CLI parses and prints only."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import typer

try:  # typer >= 0.26 carries its own copy of click
    from typer._click import exceptions as clickx
except ImportError:  # pragma: no cover - older typer on plain click
    from click import exceptions as clickx  # type: ignore[no-redef]

from .. import __version__
from ..errors import UsageError, UserError
from . import (
    audit_cmd,
    callback_cmd,
    campaign_cmd,
    consent_cmd,
    contacts_cmd,
    db_cmd,
    demo_cmd,
    dial_cmd,
    dnc_cmd,
    optout_cmd,
    report_cmd,
    script_cmd,
    ticket_cmd,
    trunk_cmd,
)
from .common import Options, options

app = typer.Typer(
    name="cctool",
    help="Operations toolkit for small call-center teams, on one SQLite file.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    db: Path | None = typer.Option(None, "--db", help="Database file (else $CCTOOL_DB, else ./cctool.db)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
    actor: str | None = typer.Option(
        None, "--as", help="Who is acting (else $CCTOOL_ACTOR, else the OS user)."
    ),
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    if version:
        typer.echo(f"cctool {__version__}")
        raise typer.Exit(0)
    opts = options(ctx)
    opts.db = db or opts.db
    opts.json = json_out or opts.json
    opts.quiet = quiet or opts.quiet
    if actor is not None:
        if not actor.strip():  # a blank name would be written to the audit log as who acted
            raise UsageError("--as needs a name (who is acting, e.g. --as amy)")
        opts.actor = actor.strip()


app.command("init", help="Create or migrate the database.")(db_cmd.init)
app.add_typer(contacts_cmd.app, name="contacts", help="Import, list, show, export and erase contacts.")
app.add_typer(consent_cmd.app, name="consent", help="Consent records (append-only; the latest is in force).")
app.add_typer(
    dnc_cmd.app, name="dnc", help="Do-not-call lists: the national registry copy and your own list."
)
app.command("optout", help="Opt a number out of every campaign, effective at once.")(optout_cmd.optout)
app.add_typer(campaign_cmd.app, name="campaign", help="Campaign definitions, preview, pause and resume.")
app.add_typer(script_cmd.app, name="script", help="Call scripts rendered for one contact.")
app.add_typer(dial_cmd.app, name="dial", help="Run a campaign on a trunk; see its progress.")
app.add_typer(report_cmd.app, name="report", help="Campaign KPIs and charts.")
app.add_typer(trunk_cmd.app, name="trunk", help="Check a SIP trunk or place one call through it.")
app.add_typer(ticket_cmd.app, name="ticket", help="Tickets: inquiries, complaints, orders, returns.")
app.add_typer(callback_cmd.app, name="callback", help="Callbacks: schedule, due (for cron), claim, done.")
app.add_typer(audit_cmd.app, name="audit", help="The hash-chained operations log.")
app.add_typer(db_cmd.app, name="db", help="Schema status.")
app.command("demo", help="Run an end-to-end demo on a fresh database.")(demo_cmd.demo)

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


INTERRUPTED = 130
INTERRUPTED_MESSAGE = "cctool: interrupted; nothing half-written was kept"


def main(argv: list[str] | None = None) -> int:
    """Entry point: exit 0 on success, 1 with one line on stderr for a failure, 2 for a usage error."""
    args = hoist_globals(list(sys.argv[1:] if argv is None else argv))
    command = typer.main.get_command(app)
    code = 0
    try:
        result = command.main(args=args, prog_name="cctool", standalone_mode=False, obj=Options())
        code = result if isinstance(result, int) else 0
        if code == INTERRUPTED:  # typer turns Ctrl-C into Exit(130) itself, after the rollback
            typer.echo(INTERRUPTED_MESSAGE, err=True)
    except clickx.UsageError as exc:
        exc.show()
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
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        typer.echo(
            f"cctool: the database is busy ({exc}); try again when the other run has finished", err=True
        )
        code = 1
    except KeyboardInterrupt:
        typer.echo(INTERRUPTED_MESSAGE, err=True)
        code = INTERRUPTED
    except BrokenPipeError:
        code = 0
    return code
