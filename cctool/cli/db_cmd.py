"""`cctool init` and `cctool db status`."""

from __future__ import annotations

import typer
from rich.console import Console

from .common import emit, store

app = typer.Typer(no_args_is_help=True)


def init(ctx: typer.Context) -> None:
    """Create or migrate the database."""
    with store(ctx, create=True) as opened:
        status = opened.status()

    def human(out: Console) -> None:
        out.print(
            f"{opened.path}: schema version {status['schema_version']}, {len(status['applied'])} migrations"
        )

    emit(ctx, {"db": str(opened.path), **status}, human)


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Schema version, applied and pending migrations (reads only; `cctool init` applies them)."""
    with store(ctx, migrate=False) as opened:
        result = opened.status()

    def human(out: Console) -> None:
        out.print(f"schema version {result['schema_version']}")
        out.print(f"applied: {', '.join(result['applied']) or 'none'}")
        out.print(f"pending: {', '.join(result['pending']) or 'none'}")

    emit(ctx, result, human)
