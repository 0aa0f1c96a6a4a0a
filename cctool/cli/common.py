"""What every command group shares: the global options, opening the store, and printing results."""

from __future__ import annotations

import json
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count, islice
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ..children import signals_handled
from ..errors import UserError
from ..store import Store, default_actor, default_db_path, open_store


@dataclass
class Options:
    db: Path | None = None
    json: bool = False
    quiet: bool = False
    actor: str | None = None


def options(ctx: typer.Context) -> Options:
    root = ctx.find_root()
    if not isinstance(root.obj, Options):
        root.obj = Options()
    return root.obj


def command_name(ctx: typer.Context) -> str:
    return ctx.command_path.removeprefix(ctx.find_root().info_name or "cctool").strip() or "cctool"


@contextmanager
def store(
    ctx: typer.Context, *, migrate: bool = True, create: bool = False, dry_run: bool = False
) -> Iterator[Store]:
    """Open the database named by --db / $CCTOOL_DB / ./cctool.db for the duration of a command.

    Only the commands that start a database (`init`, and the imports that bring a team's first data in:
    `contacts import`, `dnc import`, `campaign load`) pass `create`. Every other command needs the file to
    exist: on a mistyped path an opt-out or a do-not-call entry would go into a new, empty database while
    the real one keeps dialing the number, and a report or `audit verify` would describe an empty one.
    A database this command started is removed again if the command fails, or was a `dry_run` (which
    writes nothing): it leaves things as they were."""
    opts = options(ctx)
    path = opts.db or default_db_path()
    new = str(path) != ":memory:" and not Path(path).exists()
    if new and not create:
        raise UserError(
            f"database {path} does not exist: check --db (or $CCTOOL_DB), or create it with `cctool init`"
        )
    opened = open_store(
        path,
        actor=opts.actor or default_actor(),
        command=command_name(ctx),
        migrate=migrate,
        create=create,
    )
    try:
        yield opened
    except BaseException:
        _close(opened, remove=new)
        raise
    # The command's work is committed: closing it (a WAL checkpoint, 0.3 s after a big import) is not
    # interrupted. Ctrl-C there said "interrupted; nothing half-written was kept", exit 130, of an import
    # committed whole.
    with signals_handled(signal.SIG_IGN, signal.SIGINT, signal.SIGTERM):
        _close(opened, remove=new and dry_run)


def _close(opened: Store, *, remove: bool) -> None:
    opened.close()
    if remove:
        for leftover in (Path(opened.path), Path(f"{opened.path}-wal"), Path(f"{opened.path}-shm")):
            leftover.unlink(missing_ok=True)


stderr = Console(stderr=True)
stdout = Console()


def emit(ctx: typer.Context, document: Any, human: Callable[[Console], None] | None = None) -> None:
    """With --json: exactly one JSON document on stdout. Otherwise the human rendering (unless --quiet)."""
    opts = options(ctx)
    if opts.json:
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    if opts.quiet:
        return
    if human is not None:
        human(stdout)
    else:
        stdout.print_json(json.dumps(document, ensure_ascii=False, default=str))


HUMAN_ROWS = 100  # rows a listing prints on a terminal unless --limit says otherwise


MAX_LIMIT = 2**31  # more rows than any listing holds; past sys.maxsize `islice` raises


def limit_option(what: str) -> Any:
    return typer.Option(
        None,
        "--limit",
        min=0,
        max=MAX_LIMIT,
        help=f"Show at most N {what} (0: all). Default: {HUMAN_ROWS} on a terminal, all with --json.",
    )


def region_option(number: str = "a number") -> Any:
    """--region, the same on every command that takes a phone number."""
    return typer.Option(None, "--region", help=f"Country for {number} without +country, e.g. GB, US, CN.")


def shown(
    ctx: typer.Context, rows: Iterable[Any], limit: int | None, *, last: bool = False
) -> tuple[list[Any], int, str]:
    """The rows a listing prints, how many there are in all, and a line saying what it left out.

    With --limit N, N rows (0: all). Without it, all of them for --json (a script wants everything) and
    the first (or `last`) HUMAN_ROWS for a person: a table of 100,000 contacts takes rich minutes to lay
    out and scrolls off the screen anyway. Only the rows shown are kept in memory."""
    if limit is None:
        limit = 0 if options(ctx).json else HUMAN_ROWS
    if limit <= 0:
        kept = list(rows)
        return kept, len(kept), ""
    if last:
        counter = count()  # zip draws from it once per row, and not after the last
        kept = [row for row, _ in deque(zip(rows, counter), maxlen=limit)]
        total = next(counter)
    else:
        remaining = iter(rows)
        kept = list(islice(remaining, limit))
        total = len(kept) + sum(1 for _ in remaining)
    if total <= limit:
        return kept, total, ""
    which = "earlier" if last else "more"
    return kept, total, f"{total - limit} {which} not shown: --limit N for N, --limit 0 for all"


def short_time(iso: str | None) -> str:
    """A stored UTC time as a person reads it in a table: to the second (--json keeps the full text)."""
    if not iso:
        return ""
    return iso.split(".")[0].replace("T", " ").removesuffix("Z") + "Z"


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> Table:
    grid = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        grid.add_column(column, overflow="fold")  # a narrow terminal wraps a value, never cuts it
    for row in rows:
        grid.add_row(*["" if v is None else str(v) for v in row])
    return grid


def note(ctx: typer.Context, message: str) -> None:
    """A progress line on stderr, on a terminal only (silent under --quiet or --json): cron mails whatever
    a job prints, and a line on every run would bury the one that matters."""
    opts = options(ctx)
    if not opts.quiet and not opts.json and stderr.is_terminal:
        stderr.print(message, highlight=False)
