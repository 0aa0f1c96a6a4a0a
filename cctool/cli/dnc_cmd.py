"""`cctool dnc import|add|remove|check|loads`: do-not-call lists."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from .. import dnc
from ..phones import e164
from ..timeutil import parse_date
from .common import emit, note, region_option, short_time, store

app = typer.Typer(no_args_is_help=True)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="One number a line, or a CSV with a phone column."),
    list_name: str = typer.Option(..., "--list", help="national (the registry copy)."),
    version: str = typer.Option(..., "--version", help="The registry's name for this copy."),
    registry_date: str | None = typer.Option(
        None, "--date", help="The copy's date, YYYY-MM-DD (default today)."
    ),
    region: str | None = region_option(),
    column: str | None = typer.Option(None, "--column", help="The CSV column holding the numbers."),
) -> None:
    """Replace the national registry snapshot atomically and record the load."""
    day = parse_date(registry_date, "--date") if registry_date else None
    with store(ctx, create=True) as opened:
        summary = dnc.import_registry(
            opened, file, version, day, list_name=list_name, region=region, column=column,
            reading=lambda: note(ctx, f"loading {file} ..."),
        )  # fmt: skip

    def human(out: Console) -> None:
        if summary["unchanged"]:
            # The file is not read again, so a repeat with another --region/--column changes nothing: say so.
            given = " or ".join(o for o, v in (("--region", region), ("--column", column)) if v)
            hint = f" (the file was not read again: to read it with another {given}, give a new --version)"
            out.print(
                f"registry version {summary['version']} is already loaded from this file "
                f"({_count(summary['count'], 'number')}): nothing changed" + (hint if given else "")
            )
            return
        out.print(
            f"loaded {summary['list']} registry version {summary['version']} dated {summary['date']}: "
            f"{_count(summary['count'], 'number')} ({_count(summary['invalid'], 'invalid line')}, "
            f"{_count(summary['duplicates'], 'duplicate')})"
        )
        if summary["invalid_examples"]:
            out.print("invalid lines, e.g.: " + ", ".join(repr(x) for x in summary["invalid_examples"]))

    emit(ctx, summary, human)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


@app.command("add")
def add(
    ctx: typer.Context,
    phone: str = typer.Argument(..., help="The number, +country format."),
    list_name: str = typer.Option("internal", "--list", help="internal (the company's own list)."),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept with the entry)."),
    region: str | None = region_option(),
) -> None:
    """Put a number on the internal do-not-call list, effective at once."""
    number = e164(phone, region)
    with store(ctx) as opened:
        result = dnc.add_internal(opened, number, reason, list_name)

    def human(out: Console) -> None:
        word = "added to" if result["added"] else "already on"
        out.print(f"{number} {word} the internal do-not-call list (since {result['since']})")

    emit(ctx, result, human)


@app.command("remove")
def remove(
    ctx: typer.Context,
    phone: str = typer.Argument(..., help="The number, +country format."),
    list_name: str = typer.Option("internal", "--list", help="internal (the company's own list)."),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept in the audit log)."),
    region: str | None = region_option(),
) -> None:
    """Take a number off the internal list (the entry is closed and kept)."""
    number = e164(phone, region)
    with store(ctx) as opened:
        result = dnc.remove_internal(opened, number, reason, list_name)
    emit(ctx, result, lambda out: out.print(f"{number} removed from the internal do-not-call list"))


@app.command("check")
def check(
    ctx: typer.Context,
    phone: str = typer.Argument(..., help="The number, any format with +country."),
    region: str | None = region_option(),
) -> None:
    """Is the number suppressed now, and by which lists (national, internal, optout, erased)."""
    number = e164(phone, region)
    with store(ctx) as opened:
        result = dnc.check(opened, number)

    def human(out: Console) -> None:
        if result["suppressed"]:
            out.print(f"{number}: [red]do not call[/red] ({', '.join(result['lists'])})")
        else:
            out.print(f"{number}: not on any do-not-call list")
        out.print(f"registry version checked: {result['registry_version'] or 'none loaded'}")

    emit(ctx, result, human)


@app.command("loads")
def loads(ctx: typer.Context, list_name: str = typer.Option("national", "--list", help="national.")) -> None:
    """The history of registry loads; the last one is the snapshot in force."""
    with store(ctx) as opened:
        rows = dnc.loads(opened, list_name)

    def human(out: Console) -> None:
        # a line a load, as a history reads on any terminal (a table of eight columns folded every cell)
        out.print(f"{list_name} registry loads (the last one is in force):", highlight=False)
        for r in rows:
            out.print(
                f"  {r['version']}  dated {r['registry_date']}  {_count(r['count'], 'number')}  loaded "
                f"{short_time(r['loaded_at'])} by {r['actor']} from {r['file_name']}  sha256 {r['sha256'][:12]}"
                + ("  (in force)" if r["in_force"] else ""),
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    emit(ctx, rows, human)
