"""The audit export's service sections: tickets, their history, and callbacks, with free text masked.

Tickets are not campaigns' rows: with `--campaign`, those linked to it (by a callback or a ticket event
whose `ref` names it) are exported.
"""

from __future__ import annotations

from typing import Any

from .auditexport import Exporter

_TICKETS_OF_CAMPAIGN = (
    " AND (t.id IN (SELECT ticket_id FROM callbacks WHERE campaign = ?)"
    " OR t.id IN (SELECT ticket_id FROM ticket_events WHERE json_valid(ref)"
    " AND json_extract(ref, '$.campaign') = ?))"
)


def _ticket_filter(x: Exporter) -> tuple[str, list[Any]]:
    """Tickets touched in the period; with --campaign, those linked to it by a callback or an event."""
    where = "t.created_at < ? AND t.updated_at >= ?"
    params: list[Any] = [x.request.until, x.request.since]
    if x.request.campaign is not None:
        where += _TICKETS_OF_CAMPAIGN
        params += [x.request.campaign, x.request.campaign]
    return where, params


def tickets(x: Exporter) -> None:
    where, params = _ticket_filter(x)
    rows = x.query(f"SELECT t.* FROM tickets t WHERE {where} ORDER BY t.created_at, t.id", params)
    x.table(
        "tickets",
        [
            "ticket_id",
            "phone",
            "phone_ref",
            "kind",
            "subject",
            "body",
            "priority",
            "status",
            "assignee",
            "sla_due_at",
            "satisfaction",
            "created_at",
            "updated_at",
            "resolved_at",
            "created_by",
        ],
        (
            [
                r["id"],
                x.phone(r["phone"]),
                x.ref(r["phone"]),
                r["kind"],
                x.text(r["subject"]),
                x.text(r["body"]),
                r["priority"],
                r["status"],
                r["assignee"],
                r["sla_due_at"],
                r["satisfaction"],
                r["created_at"],
                r["updated_at"],
                r["resolved_at"],
                r["created_by"],
            ]
            for r in rows
        ),
    )


def ticket_events(x: Exporter) -> None:
    """The whole history (up to the period's end) of every exported ticket."""
    where, params = _ticket_filter(x)
    rows = x.query(
        f"SELECT e.* FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id WHERE {where} AND e.at < ? "
        "ORDER BY e.ticket_id, e.id",
        [*params, x.request.until],
    )
    x.table(
        "ticket_events",
        ["event_id", "ticket_id", "at", "actor", "event", "field", "old_value", "new_value", "note", "ref"],
        (
            [
                r["id"],
                r["ticket_id"],
                r["at"],
                r["actor"],
                r["event"],
                r["field"],
                x.text(r["old_value"]),
                x.text(r["new_value"]),
                x.text(r["note"]),
                r["ref"],
            ]
            for r in rows
        ),
    )


def callbacks(x: Exporter) -> None:
    """Callbacks due, created or done in the period."""
    where, params = x.campaign_filter()
    since, until = x.request.since, x.request.until
    rows = x.query(
        "SELECT * FROM callbacks WHERE created_at < ? AND (due_at >= ? OR created_at >= ? OR done_at >= ?)"
        f"{where} ORDER BY due_at, id",
        [until, since, since, since, *params],
    )
    columns = [
        "callback_id",
        "phone",
        "phone_ref",
        "due_at",
        "tz",
        "campaign",
        "ticket_id",
        "owner",
        "status",
        "claimed_by",
        "claimed_at",
        "outcome",
        "note",
        "requested_by_customer",
        "created_at",
        "created_by",
        "done_at",
    ]
    x.table(
        "callbacks",
        columns,
        (
            [r["id"], x.phone(r["phone"]), x.ref(r["phone"])]
            + [r[c] for c in columns[3:12]]
            + [x.text(r["note"])]
            + [r[c] for c in columns[13:]]
            for r in rows
        ),
    )
