"""`cctool ticket new|update|show|list|reopen|link|satisfaction|offer|sla|config`."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from .. import ticket_settings, tickets
from ..phones import e164
from .common import emit, limit_option, region_option, shown, store, table

app = typer.Typer(no_args_is_help=True)
sla_app = typer.Typer(no_args_is_help=True)
config_app = typer.Typer(no_args_is_help=True)
app.add_typer(sla_app, name="sla", help="Time-to-resolve targets by kind and priority.")
app.add_typer(config_app, name="config", help="Follow-up delay, follow-up campaign, marketing threshold.")


def plain(rows: list[list[Any]]) -> list[list[Any]]:
    """Table cells with free text shown as written: a customer's `[erased]` or `[b]` is not rich markup."""
    return [[escape(v) if isinstance(v, str) else v for v in row] for row in rows]


LIST_COLUMNS = ["id", "status", "kind", "priority", "phone", "assignee", "sla_due_at", "subject"]


def _line(ticket: dict[str, Any]) -> str:
    late = " [red]OVERDUE[/red]" if ticket["overdue"] else ""
    who = f", {ticket['assignee']}" if ticket["assignee"] else ""
    return (
        f"ticket {ticket['id']}: {ticket['status']} {ticket['kind']} ({ticket['priority']}{who}) "
        f"{ticket['phone']}, SLA due {ticket['sla_due_at'] or 'none'}{late}"
    )


def _event_line(event: dict[str, Any]) -> str:
    """One history line: when, who, what, and for a change the old and the new value."""
    parts = [event["at"], event["actor"], event["event"]]
    if event["field"]:
        parts.append(f"{event['field']}: {event['old_value'] or '-'} -> {event['new_value'] or '-'}")
    elif event["new_value"]:
        parts.append(str(event["new_value"]))
    if event["note"]:
        parts.append(f"({event['note']})")
    if event["ref"]:
        parts.append(" ".join(f"{k}={v}" for k, v in event["ref"].items()))
    return " ".join(parts)


def _print_one(ctx: typer.Context, ticket: dict[str, Any]) -> None:
    emit(ctx, ticket, lambda out: out.print(_line(ticket), highlight=False))


@app.command("new")
def new(
    ctx: typer.Context,
    phone: str = typer.Option(..., "--phone", help="The caller's number, any format."),
    kind: str = typer.Option(..., "--kind", help="inquiry, complaint, order or return."),
    subject: str = typer.Option(..., "--subject", help="What the call is about, one line."),
    body: str | None = typer.Option(None, "--body", help="Details."),
    priority: str = typer.Option("normal", "--priority", help="low, normal, high or urgent."),
    assign: str | None = typer.Option(None, "--assign", help="The agent who handles it."),
    campaign: str | None = typer.Option(None, "--campaign", help="Link to a campaign."),
    attempt: int | None = typer.Option(None, "--attempt", help="Link to a call attempt id."),
    region: str | None = region_option(),
) -> None:
    """Log an inbound call as a ticket (an unknown number becomes a contact)."""
    number = e164(phone, region)
    with store(ctx) as opened:
        ticket = tickets.create(
            opened, number, kind, subject, body=body, priority=priority, assignee=assign,
            campaign=campaign, attempt=attempt,
        )  # fmt: skip
    _print_one(ctx, ticket)


@app.command("update")
def update(
    ctx: typer.Context,
    ticket_id: int = typer.Argument(..., metavar="ID"),
    status: str | None = typer.Option(None, "--status", help="new, open, pending, resolved or closed."),
    sets: list[str] = typer.Option(
        [], "--set", help="FIELD=VALUE (subject, body, priority, kind, assignee, ...)."
    ),
    note: str | None = typer.Option(None, "--note", help="A note, supplementary information or a revision."),
) -> None:
    """Change a ticket; every change is appended to its history with the old and new value."""
    fields = tickets.parse_sets(sets)
    with store(ctx) as opened:
        ticket = tickets.update(opened, ticket_id, status=status, fields=fields, note=note)
    _print_one(ctx, ticket)


@app.command("reopen")
def reopen(
    ctx: typer.Context,
    ticket_id: int = typer.Argument(..., metavar="ID"),
    note: str | None = typer.Option(None, "--note", help="Why it is reopened."),
) -> None:
    """Reopen a resolved or closed ticket (same as `update ID --status open`)."""
    with store(ctx) as opened:
        ticket = tickets.update(opened, ticket_id, status="open", note=note)
    _print_one(ctx, ticket)


@app.command("show")
def show(ctx: typer.Context, ticket_id: int = typer.Argument(..., metavar="ID")) -> None:
    """The ticket, its whole history and its callbacks."""
    with store(ctx) as opened:
        ticket = tickets.show(opened.conn, ticket_id)

    def human(out: Console) -> None:
        out.print(_line(ticket), highlight=False)
        out.print(f"subject: {escape(ticket['subject'])}", highlight=False)
        if ticket["body"]:
            out.print(f"body: {escape(ticket['body'])}", highlight=False)
        if ticket["satisfaction"] is not None:
            out.print(f"satisfaction: {ticket['satisfaction']}")
        out.print("history:")
        for e in ticket["events"]:
            out.print(f"  {escape(_event_line(e))}", highlight=False)
        if ticket["callbacks"]:
            cols = ["id", "due_at", "status", "owner", "outcome"]
            out.print(table("callbacks", cols, plain([[c[k] for k in cols] for c in ticket["callbacks"]])))

    emit(ctx, ticket, human)


@app.command("list")
def list_(
    ctx: typer.Context,
    status: str | None = typer.Option(
        None, "--status", help=f"Only tickets in this status: {', '.join(tickets.STATUSES)}."
    ),
    kind: str | None = typer.Option(None, "--kind", help=f"Only this kind: {', '.join(tickets.KINDS)}."),
    phone: str | None = typer.Option(None, "--phone", help="Only the tickets of this number."),
    assignee: str | None = typer.Option(None, "--assignee", help="Only the tickets assigned to this agent."),
    overdue: bool = typer.Option(False, "--overdue", help="Only active tickets past their SLA due time."),
    region: str | None = region_option("a --phone"),
    limit: int | None = limit_option("tickets"),
) -> None:
    """Tickets matching every filter, oldest first."""
    number = e164(phone, region) if phone else None
    with store(ctx) as opened:
        matching = tickets.list_tickets(
            opened.conn, status=status, kind=kind, phone=number, assignee=assignee, overdue=overdue
        )
    found, total, left_out = shown(ctx, matching, limit)

    def human(out: Console) -> None:
        rows = plain([[t[c] for c in LIST_COLUMNS] for t in found])
        out.print(table(f"{total} tickets", LIST_COLUMNS, rows))
        if left_out:
            out.print(left_out)

    emit(ctx, found, human)


@app.command("link")
def link(
    ctx: typer.Context,
    ticket_id: int = typer.Argument(..., metavar="ID"),
    attempt: int | None = typer.Option(None, "--attempt", help="A call attempt id."),
    campaign: str | None = typer.Option(None, "--campaign", help="A campaign name."),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """Link a ticket to a call attempt or a campaign."""
    with store(ctx) as opened:
        ticket = tickets.link(opened, ticket_id, attempt=attempt, campaign=campaign, note=note)
    _print_one(ctx, ticket)


@app.command("satisfaction")
def satisfaction(
    ctx: typer.Context,
    ticket_id: int = typer.Argument(..., metavar="ID"),
    score: str = typer.Argument(..., metavar="SCORE", help="0-100."),
    callback: int | None = typer.Option(None, "--callback", help="The follow-up callback it came from."),
) -> None:
    """Record the satisfaction score a follow-up call gave (0-100)."""
    with store(ctx) as opened:
        ticket = tickets.record_satisfaction(opened, ticket_id, score, callback_id=callback)
    _print_one(ctx, ticket)


@app.command("offer")
def offer(
    ctx: typer.Context,
    ticket_id: int = typer.Argument(..., metavar="ID"),
    campaign: str | None = typer.Option(
        None, "--campaign", help="Its service_to_marketing_threshold applies."
    ),
    product: str | None = typer.Option(None, "--product", help="What is offered."),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """Switch a service call to a product offer: allowed only at or above the threshold; recorded."""
    with store(ctx) as opened:
        ticket = tickets.offer(opened, ticket_id, campaign=campaign, product=product, note=note)
    _print_one(ctx, ticket)


@sla_app.command("show")
def sla_show(ctx: typer.Context) -> None:
    """The SLA in force for every kind and priority."""
    with store(ctx) as opened:
        found = ticket_settings.sla_table(opened.conn)

    def human(out: Console) -> None:
        cols = list(ticket_settings.PRIORITIES)
        out.print(
            table(
                "SLA (time to resolve)",
                ["kind", *cols],
                [[k, *[v[p] for p in cols]] for k, v in found.items()],
            )
        )

    emit(ctx, found, human)


@sla_app.command("set")
def sla_set(
    ctx: typer.Context,
    kind: str = typer.Argument(..., metavar="KIND"),
    priority: str = typer.Argument(..., metavar="PRIORITY"),
    duration: str = typer.Argument(..., metavar="DURATION", help="e.g. 4h, 2d."),
) -> None:
    """Set the time to resolve for new tickets of one kind and priority."""
    with store(ctx) as opened:
        change = ticket_settings.put(opened, ticket_settings.sla_key(kind, priority), duration)
    emit(ctx, change, lambda out: out.print(f"{change['key']}: {change['old']} -> {change['new']}"))


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Every ticket and callback setting in force."""
    with store(ctx) as opened:
        found = ticket_settings.all_settings(opened.conn)
    emit(
        ctx,
        found,
        lambda out: out.print(table("settings", ["key", "value"], [[k, v] for k, v in found.items()])),
    )


@config_app.command("set")
def config_set(
    ctx: typer.Context,
    key: str = typer.Argument(..., metavar="KEY"),
    value: str = typer.Argument(..., metavar="VALUE"),
) -> None:
    """Set one setting, e.g. tickets.followup_delay 3d or tickets.service_to_marketing_threshold 90."""
    with store(ctx) as opened:
        change = ticket_settings.put(opened, key, value)
    emit(ctx, change, lambda out: out.print(f"{change['key']}: {change['old']!r} -> {change['new']!r}"))
