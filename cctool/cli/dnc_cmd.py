"""`cctool dnc import|add|remove|check|loads`: do-not-call lists."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from .. import dnc
from ..phones import e164
from ..timeutil import parse_date
from .common import emit, note, store, table

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
    region: str | None = typer.Option(
        None, "--region", help="Country for numbers without +country (e.g. US)."
    ),
    column: str | None = typer.Option(None, "--column", help="The CSV column holding the numbers."),
) -> None:
    """Replace the national registry snapshot atomically and record the load."""
    day = parse_date(registry_date, "--date") if registry_date else None
    note(ctx, f"loading {file} ...")
    with store(ctx, create=True) as opened:
        summary = dnc.import_registry(
            opened, file, version, day, list_name=list_name, region=region, column=column
        )

    def human(out: Console) -> None:
        if summary["unchanged"]:
            out.print(
                f"registry version {summary['version']} is already loaded from this file: nothing changed"
            )
            return
        out.print(
            f"loaded {summary['list']} registry version {summary['version']} dated {summary['date']}: "
            f"{summary['count']} numbers ({summary['invalid']} invalid lines, {summary['duplicates']} duplicates)"
        )
        if summary["invalid_examples"]:
            out.print("invalid lines, e.g.: " + ", ".join(repr(x) for x in summary["invalid_examples"]))

    emit(ctx, summary, human)


@app.command("add")
def add(
    ctx: typer.Context,
    phone: str = typer.Argument(..., help="The number, +country format."),
    list_name: str = typer.Option("internal", "--list", help="internal (the company's own list)."),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept with the entry)."),
) -> None:
    """Put a number on the internal do-not-call list, effective at once."""
    number = e164(phone)
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
) -> None:
    """Take a number off the internal list (the entry is closed and kept)."""
    number = e164(phone)
    with store(ctx) as opened:
        result = dnc.remove_internal(opened, number, reason, list_name)
    emit(ctx, result, lambda out: out.print(f"{number} removed from the internal do-not-call list"))


@app.command("check")
def check(
    ctx: typer.Context, phone: str = typer.Argument(..., help="The number, any format with +country.")
) -> None:
    """Is the number suppressed now, and by which lists (national, internal, optout, erased)."""
    number = e164(phone)
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
        columns = [
            "version",
            "registry_date",
            "loaded_at",
            "count",
            "sha256",
            "file_name",
            "actor",
            "in_force",
        ]
        cells = [[r[c] if c != "sha256" else r[c][:16] for c in columns] for r in rows]
        out.print(table(f"{list_name} registry loads", columns, cells))

    emit(ctx, rows, human)
