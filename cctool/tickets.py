"""Tickets: inbound inquiries, complaints, orders and returns, with an append-only history.

The `tickets` row is the ticket as it stands; nothing on it changes without a `ticket_events` row saying
what it was and what it became (the table refuses updates and deletes). The lifecycle is
new -> open -> pending -> resolved -> closed, with pending -> open and a reopen from resolved or closed.
Resolving a complaint schedules its follow-up callback (the complaint follow-up, 投诉回访).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from . import campaign_store, phones, redaction, ticket_settings
from .errors import UsageError, UserError
from .now import now as clock_now
from .store import Store
from .ticket_settings import KINDS, PRIORITIES
from .timeutil import from_iso, parse_time, to_iso

STATUSES = ("new", "open", "pending", "resolved", "closed")
ACTIVE = ("new", "open", "pending")
# Where each status may go next; anything else is refused.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("open",),
    "open": ("pending", "resolved"),
    "pending": ("open", "resolved"),
    "resolved": ("closed", "open"),
    "closed": ("open",),
}
SETTABLE = ("subject", "body", "priority", "kind", "assignee", "sla_due_at", "satisfaction", "status")
COLUMNS = (
    "id",
    "phone",
    "contact_id",
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
)


def check_transition(old: str, new: str) -> None:
    """Refuse a move the lifecycle does not allow, naming the moves that are allowed."""
    if new not in STATUSES:
        raise UsageError(f"status {new!r} is not one of {', '.join(STATUSES)}")
    if new not in TRANSITIONS[old]:
        allowed = " or ".join(TRANSITIONS[old])
        raise UserError(f"a {old} ticket cannot become {new}: from {old} it can only become {allowed}")


def ensure_contact(store: Store, number: phones.Number, at: datetime, source: str = "ticket") -> int:
    """The contact id for a number, creating a minimal contact (audited) when it is not known yet.

    Must run inside `store.write()`; INSERT OR IGNORE keeps two overlapping runs from duplicating it.
    """
    conn = store.conn
    row = conn.execute("SELECT id FROM contacts WHERE phone = ?", (number.e164,)).fetchone()
    if row is not None:
        return int(row[0])
    stamp = to_iso(at)
    cursor = conn.execute(
        "INSERT OR IGNORE INTO contacts (phone, region, number_type, number_zones, source, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            number.e164,
            number.region,
            number.number_type,
            json.dumps(list(number.zones)),
            source,
            stamp,
            stamp,
        ),
    )
    contact_id = int(conn.execute("SELECT id FROM contacts WHERE phone = ?", (number.e164,)).fetchone()[0])
    if cursor.rowcount:
        store.audit("contact", contact_id, "create", {"phone": number.e164, "source": source})
    return contact_id


def append_event(
    store: Store,
    ticket_id: int,
    event: str,
    at: datetime,
    *,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    note: str | None = None,
    ref: dict[str, Any] | None = None,
) -> None:
    """Append one ticket event and its audit row (inside `store.write()`)."""
    old_text = None if old is None else str(old)
    new_text = None if new is None else str(new)
    store.conn.execute(
        "INSERT INTO ticket_events (ticket_id, at, actor, event, field, old_value, new_value, note, ref) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ticket_id,
            to_iso(at),
            store.actor,
            event,
            field,
            old_text,
            new_text,
            note,
            json.dumps(ref) if ref else None,
        ),
    )
    store.audit("ticket", ticket_id, event, audit_payload(field, old_text, new_text, note, ref))


def audit_payload(
    field: str | None, old: str | None, new: str | None, note: str | None, ref: dict[str, Any] | None
) -> dict[str, Any]:
    """An event's audit payload without the free text in it, only its length.

    The hash-chained log can never be edited, so what a customer or agent wrote (notes, subject and
    body) stays in `ticket_events`, where an erasure can overwrite it (see `redaction.py`).
    """
    payload: dict[str, Any] = {"field": field, "ref": ref}
    text_values = field in redaction.FREE_TEXT_FIELDS
    for key, value in (("old", old), ("new", new), ("note", note)):
        if value is None:
            continue
        if key == "note" or text_values:
            payload[f"{key}_chars"] = len(value)
        else:
            payload[key] = value
    return {k: v for k, v in payload.items() if v is not None}


def sla_due(conn: sqlite3.Connection, kind: str, priority: str, created: datetime) -> datetime:
    return created + ticket_settings.duration(conn, ticket_settings.sla_key(kind, priority))


def get(conn: sqlite3.Connection, ticket_id: int) -> dict[str, Any]:
    """The ticket as it stands, or a one-line UserError for an unknown id."""
    row = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        raise UserError(f"no ticket {ticket_id}: see `cctool ticket list`")
    return dict(zip(COLUMNS, row))


def _public(ticket: dict[str, Any], at: datetime) -> dict[str, Any]:
    overdue = bool(ticket["status"] in ACTIVE and ticket["sla_due_at"] and ticket["sla_due_at"] < to_iso(at))
    return {**ticket, "overdue": overdue}


def one_line(text: str) -> str:
    """A subject is one line in every list and history: text pasted from an e-mail keeps its words, with
    its line breaks and runs of spaces as single spaces."""
    return " ".join(text.split())


def create(
    store: Store,
    phone: str,
    kind: str,
    subject: str,
    *,
    body: str | None = None,
    priority: str = "normal",
    assignee: str | None = None,
    campaign: str | None = None,
    attempt: int | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Log a new ticket (a number not yet known becomes a contact); returns the ticket."""
    at = at or clock_now()
    subject = one_line(subject)
    if not subject:
        raise UsageError("a ticket needs a --subject saying what the customer called about")
    assignee = (assignee or "").strip() or None  # a blank name would be an agent nobody is
    ticket_settings.sla_key(kind, priority)
    try:
        number = phones.normalize(phone)
    except phones.InvalidNumber:
        raise UserError(f"phone number {phone!r} is not a valid number (use +country format)") from None
    with store.write() as conn:
        check_campaign(conn, campaign)
        contact_id = ensure_contact(store, number, at)
        stamp = to_iso(at)
        due = to_iso(sla_due(conn, kind, priority, at))
        cursor = conn.execute(
            "INSERT INTO tickets (phone, contact_id, kind, subject, body, priority, status, assignee, sla_due_at, "
            "created_at, updated_at, created_by) VALUES (?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?)",
            (
                number.e164,
                contact_id,
                kind,
                subject,
                body,
                priority,
                assignee,
                due,
                stamp,
                stamp,
                store.actor,
            ),
        )
        ticket_id = int(cursor.lastrowid or 0)
        append_event(
            store,
            ticket_id,
            "created",
            at,
            new="new",
            note=subject,
            ref={"kind": kind, "priority": priority, "sla_due_at": due},
        )
        if assignee:
            append_event(store, ticket_id, "assign", at, field="assignee", new=assignee)
        if campaign:
            append_event(store, ticket_id, "link", at, ref={"campaign": campaign})
        if attempt is not None:
            check_attempt(conn, attempt)
            append_event(store, ticket_id, "link", at, ref={"attempt": attempt})
        return _public(get(conn, ticket_id), at)


def check_campaign(conn: sqlite3.Connection, campaign: str | None) -> None:
    if campaign and conn.execute("SELECT 1 FROM campaigns WHERE name = ?", (campaign,)).fetchone() is None:
        raise UserError(f"unknown campaign {campaign!r}: load it with `cctool campaign load FILE.yaml`")


def check_attempt(conn: sqlite3.Connection, attempt: int) -> None:
    if conn.execute("SELECT 1 FROM attempts WHERE id = ?", (attempt,)).fetchone() is None:
        raise UserError(f"no call attempt {attempt}: give an attempt id from `cctool dial status`")


def _parse_field(field: str, value: str) -> Any:
    """A --set value checked and converted; empty text clears an optional field."""
    value = one_line(value) if field == "subject" else value.strip()
    if field == "subject" and not value:
        raise UsageError("a ticket's subject cannot be empty")
    if field == "priority" and value not in PRIORITIES:
        raise UsageError(f"priority {value!r} is not one of {', '.join(PRIORITIES)}")
    if field == "kind" and value not in KINDS:
        raise UsageError(f"ticket kind {value!r} is not one of {', '.join(KINDS)}")
    if field == "sla_due_at":
        return to_iso(parse_time(value, "sla_due_at")) if value else None
    if field == "satisfaction":
        return parse_score(value) if value else None  # a score recorded by mistake can be cleared
    return value or None


def parse_score(value: str | int) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 0 <= int(text) <= 100:
        raise UsageError(f"satisfaction {value!r} must be a whole number from 0 to 100")
    return int(text)


def parse_sets(pairs: list[str]) -> dict[str, str]:
    """--set FIELD=VALUE pairs as a dict (later wins), refusing fields a user may not set."""
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or name not in SETTABLE:
            raise UsageError(f"--set {pair!r}: use FIELD=VALUE with FIELD one of {', '.join(SETTABLE)}")
        fields[name] = value
    return fields


def update(
    store: Store,
    ticket_id: int,
    *,
    status: str | None = None,
    fields: dict[str, str] | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Change a ticket; each change is its own event. All or nothing: a refused part changes nothing."""
    at = at or clock_now()
    fields = dict(fields or {})
    if "status" in fields:
        status = status or fields["status"].strip()
        fields.pop("status")
    if status is None and not fields and not note:
        raise UsageError("nothing to change: give --status, --set FIELD=VALUE or --note")
    with store.write() as conn:
        ticket = get(conn, ticket_id)
        stamp = to_iso(at)
        changed = False
        values = {name: _parse_field(name, value) for name, value in fields.items()}
        if "satisfaction" in values:
            _record_satisfaction(store, ticket, values.pop("satisfaction"), at)
            changed = True
        explicit_sla = "sla_due_at" in values
        for name, value in values.items():
            old = ticket[name]
            if old == value:
                continue
            conn.execute(
                f"UPDATE tickets SET {name} = ?, updated_at = ? WHERE id = ?", (value, stamp, ticket_id)
            )
            event = "assign" if name == "assignee" else "field"
            append_event(store, ticket_id, event, at, field=name, old=old, new=value)
            ticket[name] = value
            changed = True
        if not explicit_sla and ("kind" in values or "priority" in values):
            created = from_iso(ticket["created_at"])
            due = to_iso(sla_due(conn, ticket["kind"], ticket["priority"], created))
            if due != ticket["sla_due_at"]:
                conn.execute("UPDATE tickets SET sla_due_at = ? WHERE id = ?", (due, ticket_id))
                append_event(
                    store, ticket_id, "field", at, field="sla_due_at", old=ticket["sla_due_at"], new=due,
                    note="from the SLA for the new kind/priority",
                )  # fmt: skip
        if status is not None and status != ticket["status"]:
            _move(store, ticket, status, at, note)
            changed = True
        elif status is not None:
            raise UserError(f"ticket {ticket_id} is already {status}")
        if note:
            append_event(store, ticket_id, "note", at, note=note)
            changed = True
        if changed:
            conn.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (stamp, ticket_id))
        return _public(get(conn, ticket_id), at)


def _move(store: Store, ticket: dict[str, Any], status: str, at: datetime, note: str | None) -> None:
    old = ticket["status"]
    check_transition(old, status)
    conn = store.conn
    reopened = old in ("resolved", "closed") and status == "open"
    resolved_at = to_iso(at) if status == "resolved" else None if reopened else ticket["resolved_at"]
    conn.execute(
        "UPDATE tickets SET status = ?, resolved_at = ?, updated_at = ? WHERE id = ?",
        (status, resolved_at, to_iso(at), ticket["id"]),
    )
    append_event(
        store, ticket["id"], "status", at, field="status", old=old, new=status,
        note="reopened" if reopened else None,
    )  # fmt: skip
    ticket["status"] = status
    if status == "resolved" and ticket["kind"] == "complaint":
        from . import callbacks  # callbacks link back to tickets; imported here to keep the modules acyclic

        callbacks.schedule_followup(store, ticket, at)


def _record_satisfaction(
    store: Store, ticket: dict[str, Any], score: int, at: datetime, callback_id: int | None = None
) -> None:
    store.conn.execute(
        "UPDATE tickets SET satisfaction = ?, updated_at = ? WHERE id = ?", (score, to_iso(at), ticket["id"])
    )
    ref = {"callback": callback_id} if callback_id is not None else None
    append_event(
        store,
        ticket["id"],
        "satisfaction",
        at,
        field="satisfaction",
        old=ticket["satisfaction"],
        new=score,
        ref=ref,
    )
    ticket["satisfaction"] = score


def record_satisfaction(
    store: Store,
    ticket_id: int,
    score: int | str,
    *,
    callback_id: int | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Record a follow-up's satisfaction score (0-100) on the ticket."""
    at = at or clock_now()
    value = parse_score(score)
    with store.write() as conn:
        ticket = get(conn, ticket_id)
        _record_satisfaction(store, ticket, value, at, callback_id)
        return _public(get(conn, ticket_id), at)


def link(
    store: Store,
    ticket_id: int,
    *,
    attempt: int | None = None,
    campaign: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Link a ticket to a call attempt and/or a campaign (one event each)."""
    at = at or clock_now()
    if attempt is None and not campaign:
        raise UsageError("give --attempt ID and/or --campaign NAME to link")
    with store.write() as conn:
        get(conn, ticket_id)
        if attempt is not None:
            check_attempt(conn, attempt)
            append_event(store, ticket_id, "link", at, note=note, ref={"attempt": attempt})
        if campaign:
            check_campaign(conn, campaign)
            append_event(store, ticket_id, "link", at, note=note, ref={"campaign": campaign})
        conn.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (to_iso(at), ticket_id))
        return _public(get(conn, ticket_id), at)


def marketing_threshold(conn: sqlite3.Connection, campaign: str | None) -> tuple[int | None, str]:
    """The service-to-marketing threshold in force, and where it came from (campaign, else the setting)."""
    if campaign:
        value = campaign_store.get(conn, campaign).definition.get("service_to_marketing_threshold")
        if value is not None:
            return int(value), f"campaign {campaign}"
    return ticket_settings.threshold(conn), "setting tickets.service_to_marketing_threshold"


def offer(
    store: Store,
    ticket_id: int,
    *,
    campaign: str | None = None,
    product: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Record that a service call switched to a marketing offer, only at or above the threshold."""
    at = at or clock_now()
    with store.write() as conn:
        ticket = get(conn, ticket_id)
        threshold, source = marketing_threshold(conn, campaign)
        score = ticket["satisfaction"]
        if threshold is None:
            raise UserError(
                f"no service-to-marketing threshold is set ({source}): a service call on ticket {ticket_id} "
                "may not switch to an offer"
            )
        if score is None:
            raise UserError(
                f"ticket {ticket_id} has no satisfaction score: record one with `cctool ticket satisfaction` "
                "before any offer"
            )
        if score < threshold:
            raise UserError(
                f"satisfaction {score} on ticket {ticket_id} is below the service-to-marketing threshold "
                f"{threshold} ({source}): do not offer a product on this call"
            )
        ref: dict[str, Any] = {"satisfaction": score, "threshold": threshold, "threshold_source": source}
        if campaign:
            ref["campaign"] = campaign
        append_event(store, ticket_id, "marketing_switch", at, new=product, note=note, ref=ref)
        conn.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (to_iso(at), ticket_id))
        return _public(get(conn, ticket_id), at)


def events(conn: sqlite3.Connection, ticket_id: int) -> list[dict[str, Any]]:
    names = ("id", "at", "actor", "event", "field", "old_value", "new_value", "note", "ref")
    rows = conn.execute(
        f"SELECT {', '.join(names)} FROM ticket_events WHERE ticket_id = ? ORDER BY id", (ticket_id,)
    ).fetchall()
    found = [dict(zip(names, row)) for row in rows]
    for event in found:
        event["ref"] = json.loads(event["ref"]) if event["ref"] else None
    return found


def show(conn: sqlite3.Connection, ticket_id: int, at: datetime | None = None) -> dict[str, Any]:
    """The ticket, its whole history (oldest first) and its callbacks."""
    from . import callbacks

    at = at or clock_now()
    ticket = _public(get(conn, ticket_id), at)
    ticket["events"] = events(conn, ticket_id)
    ticket["callbacks"] = callbacks.list_callbacks(conn, ticket_id=ticket_id)
    return ticket


def list_tickets(
    conn: sqlite3.Connection,
    *,
    status: str | None = None,
    kind: str | None = None,
    phone: str | None = None,
    assignee: str | None = None,
    overdue: bool = False,
    at: datetime | None = None,
) -> list[dict[str, Any]]:
    """Tickets matching every filter given, oldest first."""
    at = at or clock_now()
    if status is not None and status not in STATUSES:
        raise UsageError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    if kind is not None and kind not in KINDS:
        raise UsageError(f"ticket kind {kind!r} is not one of {', '.join(KINDS)}")
    where, params = [], []
    for column, value in (("status", status), ("kind", kind), ("phone", phone), ("assignee", assignee)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if overdue:
        where.append(f"status IN {ACTIVE} AND sla_due_at < ?")
        params.append(to_iso(at))
    sql = f"SELECT {', '.join(COLUMNS)} FROM tickets"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
    return [_public(dict(zip(COLUMNS, row)), at) for row in rows]


def demo(store: Store, workdir: Path, say: Callable[[str], None]) -> None:
    """Log an inquiry, an order and a complaint; resolve the complaint; list the callbacks due."""
    from datetime import timedelta

    from . import callbacks

    start = clock_now()
    say("Inbound calls become tickets (咨询 inquiry, 受理 order, 投诉 complaint):")
    inquiry = create(store, "+8613800138001", "inquiry", "Data plan prices", at=start)
    order = create(store, "+8613800138002", "order", "Upgrade to 500M broadband", priority="high", at=start)
    complaint = create(
        store,
        "+8613800138003",
        "complaint",
        "Broadband down three days",
        body="Customer reports outage since Monday; wants a technician.",
        priority="high",
        assignee="li.wei",
        at=start,
    )
    for ticket in (inquiry, order, complaint):
        say(
            f"  ticket {ticket['id']}: {ticket['kind']:<9} {ticket['priority']:<6} {ticket['phone']} "
            f"SLA due {ticket['sla_due_at']} - {ticket['subject']}"
        )
    update(store, complaint["id"], status="open", note="Technician booked for tomorrow", at=start)
    later = start + timedelta(hours=3)
    update(store, complaint["id"], status="resolved", note="Line repaired, speed test OK", at=later)
    history = show(store.conn, complaint["id"], at=later)
    say(f"Complaint {complaint['id']} resolved; its history has {len(history['events'])} events:")
    for event in history["events"]:
        change = f"{event['old_value'] or ''} -> {event['new_value']}" if event["field"] else ""
        say(
            f"  {event['at']} {event['actor']:<6} {event['event']:<10} {change} {event['note'] or ''}".rstrip()
        )
    for callback in history["callbacks"]:
        say(f"  follow-up callback {callback['id']} scheduled for {callback['due_at']} (投诉回访)")
    followup_at = from_iso(history["callbacks"][0]["due_at"]) if history["callbacks"] else later
    due = callbacks.due_callbacks(store.conn, followup_at)
    say(f"At {to_iso(followup_at)}, `cctool callback due` lists {len(due)} callback(s):")
    for callback in due:
        say(
            f"  callback {callback['id']} {callback['phone']} due {callback['due_at']} ticket {callback['ticket']}"
        )
