"""`cctool audit verify` and `cctool audit log`."""

from __future__ import annotations

import typer
from rich.console import Console

from .. import audit
from ..timeutil import parse_time, to_iso
from .common import emit, store, table

app = typer.Typer(no_args_is_help=True)

CHAIN_BROKEN = 3


@app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Recompute the hash chain; exit 3 naming the first bad row."""
    with store(ctx) as opened:
        verdict = audit.verify(opened.conn)

    def human(out: Console) -> None:
        if verdict.ok:
            out.print(f"audit chain intact: {verdict.rows} rows, head {verdict.head_hash[:16]}")

    emit(ctx, verdict.as_dict(), human)
    if not verdict.ok:
        typer.echo(f"cctool: audit chain broken: {verdict.problem}", err=True)
        raise typer.Exit(CHAIN_BROKEN)


@app.command("log")
def log(
    ctx: typer.Context,
    since: str | None = typer.Option(None, "--since", help="Only rows at or after this time (ISO)."),
    limit: int = typer.Option(0, "--limit", help="Only the last N rows (0: all)."),
) -> None:
    """Read the operations log."""
    since_iso = to_iso(parse_time(since, "--since")) if since else None
    with store(ctx) as opened:
        found = list(audit.rows(opened.conn, since_iso))
    if limit > 0:
        found = found[-limit:]

    def human(out: Console) -> None:
        columns = ["seq", "ts", "actor", "command", "entity", "entity_id", "action", "payload"]
        out.print(table("audit log", columns, [[r[c] for c in columns] for r in found]))

    emit(ctx, found, human)
