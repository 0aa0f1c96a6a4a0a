"""The audit export's service sections: tickets, their history, and callbacks, with free text masked.

Tickets are not campaigns' rows: with `--campaign`, those linked to it (by a callback or a ticket event
whose `ref` names it) are exported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import callbacks as callback_service
from . import tickets as ticket_service
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


def _service_table(
    x: Exporter,
    name: str,
    id_name: str,
    columns: tuple[str, ...],
    rows: Iterable[Any],
    free_text: frozenset[str],
) -> None:
    """A service table's rows as the service keeps them (`columns`): its id named `id_name`, the number
    masked beside its reference, the contact id left out (the reference links the rows), free text masked."""
    header = [id_name if c == "id" else c for c in columns if c != "contact_id"]
    header.insert(header.index("phone") + 1, "phone_ref")

    def cells(r: Any) -> list[Any]:
        out: list[Any] = []
        for c in columns:
            if c == "phone":
                out += [x.phone(r["phone"]), x.ref(r["phone"])]
            elif c != "contact_id":
                out.append(x.text(r[c]) if c in free_text else r[c])
        return out

    x.table(name, header, (cells(r) for r in rows))


def tickets(x: Exporter) -> None:
    where, params = _ticket_filter(x)
    rows = x.query(f"SELECT t.* FROM tickets t WHERE {where} ORDER BY t.created_at, t.id", params)
    _service_table(x, "tickets", "ticket_id", ticket_service.COLUMNS, rows, frozenset({"subject", "body"}))


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
    _service_table(x, "callbacks", "callback_id", callback_service.COLUMNS, rows, frozenset({"note"}))
