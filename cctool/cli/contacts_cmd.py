"""`cctool contacts import|list|show|export|erase`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from .. import contacts as service
from ..contacts_import import COUNT_KEYS, ImportResult, import_contacts
from ..outfile import atomic_text
from .common import emit, limit_option, options, region_option, shown, stderr, store, table

app = typer.Typer(no_args_is_help=True)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV file (UTF-8, UTF-8 with BOM, GB18030/GBK; , ; or tab)."),
    region: str | None = region_option(),
    maps: list[str] = typer.Option(
        [], "--map", help="COLUMN=FIELD (phone, name, email, tags, timezone, marketing_consent, ignore)."
    ),
    tags: list[str] = typer.Option([], "--tag", help="Tag every imported contact (repeatable)."),
    source: str | None = typer.Option(
        None, "--source", help="Where the list came from (default: the file name)."
    ),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="Rejected rows go here (default: NAME.rejects.csv beside NAME.csv)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and count, write nothing."),
) -> None:
    """Import contacts; bad rows go to a rejects file with their row number and reason."""
    opts = options(ctx)
    show_progress = stderr.is_terminal and not opts.json and not opts.quiet
    with store(ctx, create=True, dry_run=dry_run) as opened:

        def run(progress: Callable[[int, int], None] | None = None) -> ImportResult:
            return import_contacts(
                opened, file, region=region, maps=maps, tags=tags, source=source, rejects=rejects,
                dry_run=dry_run, progress=progress,
            )  # fmt: skip

        if show_progress:
            # auto_refresh=False: no refresh thread, so the parsing processes fork from a single thread.
            bar = Progress(
                TextColumn(f"importing {file.name}"),
                BarColumn(),
                TimeRemainingColumn(),
                console=stderr,
                auto_refresh=False,
                transient=True,
            )
            task = bar.add_task("import", total=1)
            with bar:
                result = run(lambda done, total: bar.update(task, completed=done, total=total, refresh=True))
        else:
            result = run()

    def human(out: Console) -> None:
        title = (
            f"{file.name} ({result.encoding}, {'tab' if result.delimiter == chr(9) else result.delimiter!r})"
        )
        if dry_run:
            title += " - dry run, nothing written"
        out.print(table(title, ["", "rows"], [[k.replace("_", " "), result.counts[k]] for k in COUNT_KEYS]))
        if result.reasons:
            out.print("rejected: " + ", ".join(f"{n} {why}" for why, n in sorted(result.reasons.items())))
        if result.reasons.get("invalid_phone") and not region:
            out.print("numbers written without +country need --region, e.g. --region US, GB or CN")
        if result.rejects_file:
            out.print(f"rejected rows with their reasons: {result.rejects_file}")

    emit(ctx, result.as_dict(), human)


@app.command("list")
def list_(
    ctx: typer.Context,
    tag: str | None = typer.Option(None, "--tag", help="Only contacts with this tag."),
    erased: bool = typer.Option(False, "--erased", help="Include erased contacts."),
    limit: int | None = limit_option("contacts"),
) -> None:
    """List contacts."""
    with store(ctx) as opened:
        found, total, left_out = shown(
            ctx, service.iter_contacts(opened.conn, tag, include_erased=erased), limit
        )

    def human(out: Console) -> None:
        columns = ["phone", "name", "tags", "zone", "consent"]
        rows = [
            [
                c["phone"],
                c["name"],
                ",".join(c["tags"]),
                c["timezone"] or ",".join(c["number_zones"]),
                c["marketing_consent"],
            ]
            for c in found
        ]
        out.print(table(f"{total} contacts", columns, rows))
        if left_out:
            out.print(left_out)

    emit(ctx, found, human)


@app.command("show")
def show(
    ctx: typer.Context,
    phone: str = typer.Argument(
        ..., help="The number in any format: +44 7911 123456, (212) 555-0123, 13800138000."
    ),
    region: str | None = region_option(),
) -> None:
    """Show one contact, its consents and suppressions."""
    with store(ctx) as opened:
        contact = service.show(opened.conn, phone, region)

    def human(out: Console) -> None:
        rows = [[k, v] for k, v in contact.items() if k not in ("consents", "suppressions")]
        out.print(table(contact["phone"], ["field", "value"], rows))
        for item in contact["consents"]:
            out.print(f"consent {item['purpose']} {item['action']} {item['given_at']} from {item['source']}")
        for item in contact["suppressions"]:
            out.print(f"suppressed: {item['reason']} since {item['created_at']}")

    emit(ctx, contact, human)


@app.command("export")
def export(
    ctx: typer.Context,
    out: Path | None = typer.Option(None, "--out", help="CSV file to write (default: standard output)."),
    tag: str | None = typer.Option(None, "--tag", help="Only contacts with this tag."),
) -> None:
    """Export contacts as CSV that `contacts import` reads back unchanged."""
    with store(ctx) as opened:
        if out is None:
            if options(ctx).json:  # one JSON document on stdout, as --json promises
                emit(ctx, list(service.iter_contacts(opened.conn, tag)))
            else:
                service.export_csv(opened.conn, sys.stdout, tag)
            return
        with atomic_text(out, "--out") as handle:
            count = service.export_csv(opened.conn, handle, tag)
    emit(ctx, {"exported": count, "file": str(out)}, lambda o: o.print(f"exported {count} contacts to {out}"))


@app.command("erase")
def erase(
    ctx: typer.Context,
    phone: str = typer.Argument(..., help="The number in any format."),
    region: str | None = region_option(),
) -> None:
    """Erase a person's details and the free text of their tickets and callbacks; records stay, the number stays suppressed."""
    with store(ctx) as opened:
        done = service.erase(opened, phone, region)

    def human(out: Console) -> None:
        r = done["redacted"]
        records = (
            f"{r['tickets']} ticket(s), {r['ticket_events']} ticket event(s), {r['callbacks']} callback(s)"
        )
        if done["already_erased"]:
            since = f"; redacted records made since: {records}" if any(r.values()) else ""
            out.print(f"{done['phone']} was already erased on {done['erased_at']}{since}")
        else:
            out.print(
                f"erased {done['phone']}: details cleared, free text redacted in {records}, "
                "number suppressed for good, records and audit rows kept"
            )

    emit(ctx, done, human)
