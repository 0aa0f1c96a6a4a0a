"""`cctool callback schedule|due|claim|done|release|cancel|list|grace`."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console

from .. import callbacks, ticket_settings, tickets
from ..now import now as clock_now
from ..phones import e164
from ..timeutil import parse_time
from .common import emit, limit_option, region_option, shown, store, table
from .ticket_cmd import plain

app = typer.Typer(no_args_is_help=True)

LIST_COLUMNS = [
    "id",
    "status",
    "due_at",
    "phone",
    "owner",
    "campaign",
    "ticket",
    "claimed_by",
    "outcome",
    "note",
]


def _line(callback: dict[str, Any]) -> str:
    owner = callback["owner"] or "anyone"
    extra = " (requested by the customer)" if callback["requested_by_customer"] else ""
    return f"callback {callback['id']}: {callback['status']} {callback['phone']} due {callback['due_at']}, owner {owner}{extra}"


def _print_one(ctx: typer.Context, callback: dict[str, Any]) -> None:
    emit(ctx, callback, lambda out: out.print(_line(callback), highlight=False))


@app.command("schedule")
def schedule(
    ctx: typer.Context,
    phone: str = typer.Argument(..., metavar="PHONE"),
    at: str = typer.Option(..., "--at", help="When (ISO); without an offset it is read in --tz."),
    tz: str | None = typer.Option(None, "--tz", help="Zone of --at (else the contact's zone, else UTC)."),
    campaign: str | None = typer.Option(
        None, "--campaign", help="The campaign the callback belongs to (its calling hours apply)."
    ),
    ticket: int | None = typer.Option(None, "--ticket", help="The ticket this callback follows up."),
    owner: str | None = typer.Option(None, "--owner", help="AGENT, or anyone (the default)."),
    note: str | None = typer.Option(None, "--note"),
    requested: bool = typer.Option(
        False,
        "--requested-by-customer",
        help="The customer asked for this time (allowed outside hours; recorded).",
    ),
    region: str | None = region_option(),
) -> None:
    """Promise a call at a time inside the contact's calling hours."""
    number = e164(phone, region)
    with store(ctx) as opened:
        callback = callbacks.schedule(
            opened, number, at, tz=tz, campaign=campaign, ticket_id=ticket, owner=owner, note=note,
            requested_by_customer=requested,
        )  # fmt: skip
    _print_one(ctx, callback)


@app.command("due")
def due(
    ctx: typer.Context,
    at: str | None = typer.Option(
        None, "--at", help="As of this time (ISO; UTC unless it has an offset; else now / $CCTOOL_NOW)."
    ),
    owner: str | None = typer.Option(None, "--owner", help="Only what this agent may claim."),
    campaign: str | None = typer.Option(None, "--campaign", help="Only this campaign's callbacks."),
) -> None:
    """What is due now, oldest first; marks overdue ones missed. Safe to repeat and to overlap (cron)."""
    moment = parse_time(at, "--at").replace(microsecond=0) if at else clock_now()
    with store(ctx) as opened:  # cron on a mistyped $CCTOOL_DB: say so, every time
        tickets.check_campaign(opened.conn, campaign)  # and on a mistyped --campaign (it listed nothing)
        callbacks.sweep_missed(opened)
        found = callbacks.due_callbacks(opened.conn, moment, campaign=campaign, owner=owner)

    def human(out: Console) -> None:
        cols = list(callbacks.DUE_KEYS)
        out.print(table(f"{len(found)} callbacks due", cols, plain([[c[k] for k in cols] for c in found])))

    emit(ctx, found, human)


@app.command("claim")
def claim(ctx: typer.Context, callback_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Take a callback (as --as AGENT); exactly one of two simultaneous claimers wins."""
    with store(ctx) as opened:
        callback = callbacks.claim(opened, callback_id)
    _print_one(ctx, callback)


@app.command("done")
def done(
    ctx: typer.Context,
    callback_id: int = typer.Argument(..., metavar="ID"),
    outcome: str = typer.Option(..., "--outcome", help="How it went: reached, no_answer, resolved, ..."),
    satisfaction: str | None = typer.Option(None, "--satisfaction", help="0-100, recorded on the ticket."),
    attempt: int | None = typer.Option(None, "--attempt", help="The call attempt that served it."),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """Close a callback you claimed (or a scheduled one you may claim) with its outcome."""
    with store(ctx) as opened:
        callback = callbacks.mark_done(
            opened, callback_id, outcome, attempt, satisfaction=satisfaction, note=note
        )
    _print_one(ctx, callback)


@app.command("release")
def release(
    ctx: typer.Context,
    callback_id: int = typer.Argument(..., metavar="ID"),
    outcome: str = typer.Option(..., "--outcome", help="Why it is not done: no_answer, busy, voicemail, ..."),
    attempt: int | None = typer.Option(None, "--attempt", help="The call attempt that tried it."),
) -> None:
    """Put a callback you claimed and could not complete back in the queue, due as it was."""
    with store(ctx) as opened:
        callback = callbacks.release(opened, callback_id, outcome, attempt)
    _print_one(ctx, callback)


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    callback_id: int = typer.Argument(..., metavar="ID"),
    note: str | None = typer.Option(None, "--note", help="Why."),
) -> None:
    """Cancel a waiting callback."""
    with store(ctx) as opened:
        callback = callbacks.cancel(opened, callback_id, note)
    _print_one(ctx, callback)


@app.command("list")
def list_(
    ctx: typer.Context,
    status: str | None = typer.Option(
        None, "--status", help="scheduled, claimed, done, cancelled or missed."
    ),
    phone: str | None = typer.Option(None, "--phone"),
    owner: str | None = typer.Option(None, "--owner"),
    ticket: int | None = typer.Option(None, "--ticket"),
    region: str | None = region_option("a --phone"),
    limit: int | None = limit_option("callbacks"),
) -> None:
    """Callbacks, by due time."""
    number = e164(phone, region) if phone else None
    with store(ctx) as opened:
        matching = callbacks.list_callbacks(
            opened.conn, status=status, phone=number, owner=owner, ticket_id=ticket
        )
    found, total, left_out = shown(ctx, matching, limit)

    def human(out: Console) -> None:
        rows = plain([[c[k] for k in LIST_COLUMNS] for c in found])
        out.print(table(f"{total} callbacks", LIST_COLUMNS, rows))
        if left_out:
            out.print(left_out)

    emit(ctx, found, human)


@app.command("grace")
def grace(
    ctx: typer.Context,
    owner_grace: str | None = typer.Option(None, "--owner", help="After due: anyone may claim (e.g. 30m)."),
    missed_grace: str | None = typer.Option(None, "--missed", help="After due: marked missed (e.g. 1d)."),
) -> None:
    """Show or set the owner and missed grace periods."""
    with store(ctx) as opened:
        given = {"callbacks.owner_grace": owner_grace, "callbacks.missed_grace": missed_grace}
        if any(v is not None for v in given.values()):
            ticket_settings.put_many(opened, {k: v for k, v in given.items() if v is not None})
        found = {
            "owner_grace": ticket_settings.get(opened.conn, "callbacks.owner_grace"),
            "missed_grace": ticket_settings.get(opened.conn, "callbacks.missed_grace"),
        }
    emit(
        ctx,
        found,
        lambda out: out.print(f"owner grace {found['owner_grace']}, missed grace {found['missed_grace']}"),
    )
