"""`cctool audit verify` and `cctool audit log`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from .. import audit, auditexport, manifest
from ..errors import UserError
from ..timeutil import parse_date, parse_time, to_iso
from .common import HUMAN_ROWS, MAX_LIMIT, emit, short_time, shown, store

app = typer.Typer(no_args_is_help=True)

CHAIN_BROKEN = 3


@app.command("verify")
def verify(
    ctx: typer.Context,
    export_dir: Path | None = typer.Option(
        None, "--export", help="Re-check a received export folder instead."
    ),
) -> None:
    """Recompute the hash chain (or an export folder's manifest); exit 3 naming the first bad row or file."""
    if export_dir is not None:
        verify_export(ctx, export_dir)
        return
    with store(ctx) as opened:  # a mistyped path must not verify a new, empty chain
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
    since: str | None = typer.Option(
        None, "--since", help="Only rows at or after this time (ISO; UTC unless it has an offset)."
    ),
    limit: int | None = typer.Option(
        None,
        "--limit",
        min=0,
        max=MAX_LIMIT,
        help=f"Only the last N rows (0: all). Default: the last {HUMAN_ROWS} on a terminal, all with --json.",
    ),
) -> None:
    """Read the operations log."""
    since_iso = to_iso(parse_time(since, "--since")) if since else None
    with store(ctx) as opened:
        found, _, left_out = shown(ctx, audit.rows(opened.conn, since_iso), limit, last=True)

    def human(out: Console) -> None:
        # one line a row, as a log reads (a table of eight columns folded every payload to a ribbon)
        if left_out:
            out.print(left_out)
        for r in found:
            payload = r["payload"]  # stored as its canonical JSON text
            out.print(
                f"{r['seq']:>6}  {short_time(r['ts'])}  {r['actor']}  {r['command']}  "
                f"{r['entity']}:{r['entity_id']}  {r['action']}  {payload}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    emit(ctx, found, human)


def verify_export(ctx: typer.Context, folder: Path) -> None:
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise UserError(f"export folder {folder} {what}: give the folder the export was written to")
    problems = manifest.verify(folder)

    def human(out: Console) -> None:
        if not problems:
            out.print(f"{folder}: every file matches manifest.json")

    emit(ctx, {"folder": str(folder), "ok": not problems, "problems": problems}, human)
    if problems:
        typer.echo(f"cctool: export {folder} does not match its manifest: {problems[0]}", err=True)
        raise typer.Exit(CHAIN_BROKEN)


@app.command("export")
def export(
    ctx: typer.Context,
    date_from: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD, UTC)."),
    date_to: str = typer.Option(..., "--to", help="Last day, inclusive."),
    out: Path = typer.Option(..., "--out", help="A new (or empty) folder for the export."),
    campaign: str | None = typer.Option(None, "--campaign", help="Only this campaign's attempts."),
    formats: str = typer.Option(
        "csv,json,html", "--format", help="Any of csv, json, html (csv is always written)."
    ),
    unmask: bool = typer.Option(False, "--unmask", help="Clear numbers and names; logged with your name."),
) -> None:
    """Write the auditor's package: tables, summary, report.html and a manifest of file hashes."""
    request = auditexport.ExportRequest(
        start=parse_date(date_from, "--from"),
        end=parse_date(date_to, "--to"),
        out=out,
        campaign=campaign,
        formats={f.strip().lower() for f in formats.split(",") if f.strip()} | {"csv"},
        unmask=unmask,
    )
    with store(ctx) as opened:
        summary = auditexport.export(opened, request)

    def human(console: Console) -> None:
        counts = ", ".join(f"{k} {v}" for k, v in summary["counts"].items())
        console.print(
            f"exported {summary['from']}..{summary['to']} to {out} ({'masked' if summary['masked'] else 'UNMASKED'})"
        )
        console.print(counts)
        verdict = "no violations" if not summary["violations"] else f"{len(summary['violations'])} VIOLATIONS"
        console.print(f"independent re-check: {verdict}")

    emit(ctx, {"out": str(out), **summary}, human)
