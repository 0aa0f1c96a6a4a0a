"""`cctool consent grant|revoke|show`."""

from __future__ import annotations

import typer
from rich.console import Console

from .. import consent
from ..phones import e164
from ..timeutil import parse_time
from .common import emit, region_option, store, table

app = typer.Typer(no_args_is_help=True)


def _record(
    ctx: typer.Context, action: str, phone: str, purpose: str, source: str, evidence, at, region
) -> None:
    number = e164(phone, region)
    given = parse_time(at, "--at") if at else None
    with store(ctx) as opened:
        row = consent.record(opened, number, purpose, action, source, evidence, given)

    def human(out: Console) -> None:
        out.print(
            f"{row['action']} {row['purpose']} consent for {row['phone']} at {row['given_at']} ({row['source']})"
        )

    emit(ctx, row, human)


@app.command("grant")
def grant(
    ctx: typer.Context,
    phone: str = typer.Argument(..., help="The number, +country format."),
    purpose: str = typer.Option(..., "--purpose", help="marketing or survey."),
    source: str = typer.Option(..., "--source", help="Where the consent came from (web form, call, file)."),
    evidence: str | None = typer.Option(
        None, "--evidence", help="A reference to the proof (form id, recording)."
    ),
    at: str | None = typer.Option(
        None, "--at", help="When it was given (ISO; UTC unless it has an offset; default now)."
    ),
    region: str | None = region_option(),
) -> None:
    """Record a consent grant (append-only; the latest record per purpose is in force)."""
    _record(ctx, "grant", phone, purpose, source, evidence, at, region)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    phone: str = typer.Argument(..., help="The number, +country format."),
    purpose: str = typer.Option(..., "--purpose", help="marketing or survey."),
    source: str = typer.Option(..., "--source", help="Where the revocation came from."),
    evidence: str | None = typer.Option(None, "--evidence", help="A reference to the proof."),
    at: str | None = typer.Option(
        None, "--at", help="When it was revoked (ISO; UTC unless it has an offset; default now)."
    ),
    region: str | None = region_option(),
) -> None:
    """Record a consent revocation."""
    _record(ctx, "revoke", phone, purpose, source, evidence, at, region)


@app.command("show")
def show(
    ctx: typer.Context,
    phone: str = typer.Argument(..., help="The number, +country format."),
    region: str | None = region_option(),
) -> None:
    """The consent in force per purpose, and every record."""
    number = e164(phone, region)
    with store(ctx) as opened:
        state = consent.in_force(opened, number)
        records = consent.history(opened, number)

    def human(out: Console) -> None:
        for purpose, now in state.items():
            word = "granted" if now["granted"] else "revoked" if now["revoked"] else "none recorded"
            out.print(f"{purpose}: {word}" + (f" since {now['at']} ({now['source']})" if now["at"] else ""))
        columns = ["given_at", "purpose", "action", "source", "evidence", "actor"]
        out.print(table(f"consent records for {number}", columns, [[r[c] for c in columns] for r in records]))

    emit(ctx, {"phone": number, "in_force": state, "records": records}, human)
