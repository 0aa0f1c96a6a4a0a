"""Callbacks: calls promised to a customer at a time, worked through by agents, cron and the dialer.

A callback is `scheduled`, then `claimed` by one agent (atomically: two claims at once, one wins), then
`done` with an outcome, or `cancelled`. An owner-only callback not claimed within the owner grace after
it falls due may be claimed by anyone; one still not done within the (longer) missed grace is `missed`.
The dialer dials `due_callbacks()` before fresh contacts and reports back with `mark_done()`.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from . import callhours, phones, redaction, ticket_settings, tickets
from .errors import UserError
from .now import now as clock_now
from .store import Store
from .timeutil import from_iso, parse_time, to_iso, zone

STATUSES = ("scheduled", "claimed", "done", "cancelled", "missed")
COLUMNS = (
    "id",
    "phone",
    "contact_id",
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
)
DUE_KEYS = ("id", "phone", "due_at", "owner", "campaign", "ticket", "note")


def _public(row: dict[str, Any]) -> dict[str, Any]:
    found = dict(row)
    found["ticket"] = found.pop("ticket_id")
    found["requested_by_customer"] = bool(found["requested_by_customer"])
    return found


def _row(conn: sqlite3.Connection, callback_id: int) -> dict[str, Any]:
    row = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM callbacks WHERE id = ?", (callback_id,)).fetchone()
    if row is None:
        raise UserError(f"no callback {callback_id}: see `cctool callback list`")
    return dict(zip(COLUMNS, row))


def graces(conn: sqlite3.Connection) -> tuple[timedelta, timedelta]:
    """(owner grace, missed grace), both counted from the callback's due time."""
    return (
        ticket_settings.duration(conn, "callbacks.owner_grace"),
        ticket_settings.duration(conn, "callbacks.missed_grace"),
    )


def _insert(
    store: Store,
    number: phones.Number,
    due: datetime,
    at: datetime,
    *,
    tz: str | None,
    campaign: str | None,
    ticket_id: int | None,
    owner: str | None,
    note: str | None,
    requested: bool,
) -> dict[str, Any]:
    conn = store.conn
    contact_id = tickets.ensure_contact(store, number, at, source="callback")
    cursor = conn.execute(
        "INSERT INTO callbacks (phone, contact_id, due_at, tz, campaign, ticket_id, owner, note, "
        "requested_by_customer, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (number.e164, contact_id, to_iso(due), tz, campaign, ticket_id, owner, note, int(requested), to_iso(at),
         store.actor),
    )  # fmt: skip
    callback_id = int(cursor.lastrowid or 0)
    store.audit(
        "callback",
        callback_id,
        "schedule",
        {"phone": number.e164, "due_at": to_iso(due), "owner": owner, "campaign": campaign,
         "ticket": ticket_id, "requested_by_customer": requested},
    )  # fmt: skip
    if ticket_id is not None:
        tickets.append_event(store, ticket_id, "link", at, note=note, ref={"callback": callback_id})
    return _public(_row(conn, callback_id))


def schedule(
    store: Store,
    phone: str,
    when: str | datetime,
    *,
    tz: str | None = None,
    campaign: str | None = None,
    ticket_id: int | None = None,
    owner: str | None = None,
    note: str | None = None,
    requested_by_customer: bool = False,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Schedule a callback. A time in the past is refused; one outside the contact's calling hours is
    refused with the next allowed time, unless the customer asked for that time (recorded).

    A time without an offset is read in `tz`, else in the contact's zone (when all of its zones agree
    on the offset), else in UTC.
    """
    at = at or clock_now()
    try:
        number = phones.normalize(phone)
    except phones.InvalidNumber:
        raise UserError(f"phone number {phone!r} is not a valid number (use +country format)") from None
    owner = (owner or "").strip()
    owner = None if owner in ("", "anyone") else owner  # a blank owner would hold it for nobody
    with store.write() as conn:
        zones = callhours.zones_for_phone(conn, number.e164)
        if tz:
            zone(tz)
        given_in = tz or callhours.reading_zone(at, zones)
        due = when if isinstance(when, datetime) else parse_time(when, "--at", given_in)
        due = due.replace(microsecond=0)
        if due < at:
            raise UserError(
                f"callback time {to_iso(due)} is in the past (now {to_iso(at)}): give a later --at"
            )
        if ticket_id is not None:
            ticket = tickets.get(conn, ticket_id)
            if ticket["phone"] != number.e164:
                raise UserError(f"ticket {ticket_id} is for {ticket['phone']}, not {number.e164}")
        window = callhours.window_for(conn, number.e164, campaign)
        if not requested_by_customer and not callhours.is_allowed(due, zones, window):
            raise UserError(_outside_hours(due, zones, window))
        return _insert(
            store, number, due, at, tz=given_in, campaign=campaign, ticket_id=ticket_id, owner=owner,
            note=note, requested=requested_by_customer,
        )  # fmt: skip


def _outside_hours(due: datetime, zones: callhours.Zones, window: callhours.Window) -> str:
    local = callhours.describe_local(due, zones)
    suggestion = callhours.next_allowed(due, zones, window)
    hint = (
        f"next allowed time {to_iso(suggestion)}" if suggestion else "no allowed time in the next two weeks"
    )
    return (
        f"callback time {to_iso(due)} ({local}) is outside calling hours {window.describe()}: {hint}; "
        "add --requested-by-customer if the customer asked for that time"
    )


def schedule_followup(store: Store, ticket: dict[str, Any], at: datetime) -> dict[str, Any] | None:
    """The follow-up callback for a resolved complaint: after the follow-up delay, moved into calling hours.

    Nothing is scheduled when the ticket already has a follow-up waiting (a complaint resolved again).
    """
    conn = store.conn
    waiting = conn.execute(
        "SELECT 1 FROM callbacks WHERE ticket_id = ? AND status IN ('scheduled', 'claimed')", (ticket["id"],)
    ).fetchone()
    if waiting:
        return None
    number = phones.normalize(ticket["phone"])
    campaign = ticket_settings.get(conn, "tickets.followup_campaign") or None
    zones = callhours.zones_for_phone(conn, number.e164)
    window = callhours.window_for(conn, number.e164, campaign)
    wanted = at + ticket_settings.duration(conn, "tickets.followup_delay")
    due = callhours.next_allowed(wanted, zones, window) or wanted
    return _insert(
        store, number, due, at, tz=None, campaign=campaign, ticket_id=ticket["id"], owner=None,
        note=f"complaint follow-up (投诉回访) for ticket {ticket['id']}", requested=False,
    )  # fmt: skip


def sweep_missed(store: Store, at: datetime | None = None) -> list[int]:
    """Mark callbacks not done within the missed grace as `missed`; returns their ids (idempotent)."""
    at = at or clock_now()
    with store.write() as conn:
        _, missed = graces(conn)
        limit = to_iso(at - missed)
        ids = [
            int(r[0])
            for r in conn.execute(
                "SELECT id FROM callbacks WHERE status IN ('scheduled', 'claimed') AND due_at < ? ORDER BY id",
                (limit,),
            )
        ]
        for callback_id in ids:
            conn.execute("UPDATE callbacks SET status = 'missed' WHERE id = ?", (callback_id,))
            store.audit("callback", callback_id, "missed", {"missed_grace": str(missed)})
    return ids


def due_callbacks(
    conn: sqlite3.Connection, now: datetime, campaign: str | None = None, owner: str | None = None
) -> list[dict[str, Any]]:
    """Scheduled callbacks due at `now`, oldest first (reads only).

    Those past the missed grace are left out; with `owner`, only what that agent may claim (its own,
    anyone's, and owner-only ones past the owner grace).
    """
    owner_grace, missed_grace = graces(conn)
    sql = (
        "SELECT id, phone, due_at, owner, campaign, ticket_id, note FROM callbacks "
        "WHERE status = 'scheduled' AND due_at <= ? AND due_at >= ?"
    )
    params: list[Any] = [to_iso(now), to_iso(now - missed_grace)]
    if campaign is not None:
        sql += " AND campaign = ?"
        params.append(campaign)
    if owner is not None:
        sql += " AND (owner IS NULL OR owner = ? OR due_at <= ?)"
        params += [owner, to_iso(now - owner_grace)]
    rows = conn.execute(sql + " ORDER BY due_at, id", params).fetchall()
    return [dict(zip(DUE_KEYS, row)) for row in rows]


def _refusal(conn: sqlite3.Connection, callback_id: int, agent: str, at: datetime) -> str:
    """Why `agent` may not take this callback now."""
    row = _row(conn, callback_id)
    owner_grace, missed_grace = graces(conn)
    status = row["status"]
    if status == "claimed":
        who = "you" if row["claimed_by"] == agent else row["claimed_by"]
        return f"callback {callback_id} was already claimed by {who} at {row['claimed_at']}"
    if status != "scheduled":
        return f"callback {callback_id} is {status}: only a scheduled callback can be claimed"
    due = from_iso(row["due_at"])
    if due + missed_grace < at:
        return f"callback {callback_id} was due {row['due_at']} and is past the missed grace ({missed_grace})"
    return (
        f"callback {callback_id} belongs to {row['owner']} until {to_iso(due + owner_grace)} "
        f"(owner grace {owner_grace}); ask them or wait"
    )


def _take(store: Store, callback_id: int, at: datetime) -> bool:
    """The atomic claim: one UPDATE that only a claimable row matches (inside the caller's transaction)."""
    owner_grace, missed_grace = graces(store.conn)
    cursor = store.conn.execute(
        "UPDATE callbacks SET status = 'claimed', claimed_by = ?, claimed_at = ? "
        "WHERE id = ? AND status = 'scheduled' AND due_at >= ? AND (owner IS NULL OR owner = ? OR due_at <= ?)",
        (
            store.actor,
            to_iso(at),
            callback_id,
            to_iso(at - missed_grace),
            store.actor,
            to_iso(at - owner_grace),
        ),
    )
    return cursor.rowcount == 1


def claim(store: Store, callback_id: int, at: datetime | None = None) -> dict[str, Any]:
    """Claim a callback for `store.actor`; a second claimer gets a one-line refusal (exit 1)."""
    at = at or clock_now()
    with store.write() as conn:
        _row(conn, callback_id)
        if not _take(store, callback_id, at):
            raise UserError(_refusal(conn, callback_id, store.actor, at))
        store.audit("callback", callback_id, "claim", {"by": store.actor})
        return _public(_row(conn, callback_id))


def mark_done(
    store: Store,
    callback_id: int,
    outcome: str,
    attempt_id: int | None = None,
    *,
    satisfaction: int | str | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Close a callback with its outcome (claiming it first when it is still scheduled).

    With a linked ticket, the ticket gets a link event (callback and attempt) and, when given, the
    satisfaction score of the follow-up.
    """
    at = at or clock_now()
    outcome = (outcome or "").strip()
    if not outcome:
        raise UserError("give --outcome saying how the callback went (e.g. reached, no_answer, resolved)")
    score = tickets.parse_score(satisfaction) if satisfaction is not None else None
    with store.write() as conn:
        row = _row(conn, callback_id)
        if attempt_id is not None:  # the attempt goes into the audit row and onto the ticket: it must exist
            tickets.check_attempt(conn, attempt_id)
        if row["status"] == "scheduled":
            if not _take(store, callback_id, at):
                raise UserError(_refusal(conn, callback_id, store.actor, at))
        elif row["status"] != "claimed":
            raise UserError(f"callback {callback_id} is {row['status']}: nothing to mark done")
        elif row["claimed_by"] != store.actor:
            raise UserError(
                f"callback {callback_id} is claimed by {row['claimed_by']}, not you ({store.actor})"
            )
        if score is not None and row["ticket_id"] is None:
            raise UserError(f"callback {callback_id} has no ticket to record a satisfaction score on")
        conn.execute(
            "UPDATE callbacks SET status = 'done', outcome = ?, done_at = ?, note = COALESCE(?, note) WHERE id = ?",
            (outcome, to_iso(at), note, callback_id),
        )
        store.audit("callback", callback_id, "done", {**_outcome(outcome), "attempt": attempt_id})
        _tell_ticket(store, row, at, f"callback done: {outcome}", attempt_id)
        if row["ticket_id"] is not None and score is not None:
            tickets.record_satisfaction(store, row["ticket_id"], score, callback_id=callback_id, at=at)
        return _public(_row(conn, callback_id))


def release(
    store: Store,
    callback_id: int,
    outcome: str,
    attempt_id: int | None = None,
    *,
    due_at: datetime | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Put a callback its claimer tried and could not complete back in the queue, due again at `due_at`
    (or when it was due). Its note stays; the try is in the audit row and on the linked ticket."""
    at = at or clock_now()
    with store.write() as conn:
        row = _row(conn, callback_id)
        if attempt_id is not None:
            tickets.check_attempt(conn, attempt_id)
        if row["status"] != "claimed" or row["claimed_by"] != store.actor:
            raise UserError(
                f"callback {callback_id} is {row['status']}"
                + (f" by {row['claimed_by']}" if row["status"] == "claimed" else "")
                + f", not claimed by you ({store.actor}): nothing to put back"
            )
        due = to_iso(due_at) if due_at is not None else row["due_at"]
        conn.execute(
            "UPDATE callbacks SET status = 'scheduled', claimed_by = NULL, claimed_at = NULL, due_at = ? WHERE id = ?",
            (due, callback_id),
        )
        store.audit(
            "callback", callback_id, "release", {**_outcome(outcome), "attempt": attempt_id, "due_at": due}
        )
        _tell_ticket(store, row, at, f"callback tried: {outcome}; due again {due}", attempt_id)
        return _public(_row(conn, callback_id))


def _tell_ticket(store: Store, row: dict[str, Any], at: datetime, note: str, attempt_id: int | None) -> None:
    """A `link` event on the callback's ticket, if it has one, naming the callback and the attempt."""
    if row["ticket_id"] is None:
        return
    ref: dict[str, Any] = {"callback": row["id"]}
    if attempt_id is not None:
        ref["attempt"] = attempt_id
    tickets.append_event(store, row["ticket_id"], "link", at, note=note, ref=ref)


def _outcome(outcome: str) -> dict[str, Any]:
    """The outcome for the audit row: a code as it is, free text only by its length (see redaction.py)."""
    return {"outcome": outcome} if redaction.is_outcome_code(outcome) else {"outcome_chars": len(outcome)}


def cancel(
    store: Store, callback_id: int, note: str | None = None, at: datetime | None = None
) -> dict[str, Any]:
    at = at or clock_now()
    with store.write() as conn:
        row = _row(conn, callback_id)
        if row["status"] not in ("scheduled", "claimed"):
            raise UserError(
                f"callback {callback_id} is {row['status']}: only a waiting callback can be cancelled"
            )
        conn.execute(
            "UPDATE callbacks SET status = 'cancelled', done_at = ?, note = COALESCE(?, note) WHERE id = ?",
            (to_iso(at), note, callback_id),
        )
        store.audit("callback", callback_id, "cancel", {"note_chars": len(note)} if note else {})
        if row["ticket_id"] is not None:
            tickets.append_event(
                store, row["ticket_id"], "link", at, note=f"callback cancelled{': ' + note if note else ''}",
                ref={"callback": callback_id},
            )  # fmt: skip
        return _public(_row(conn, callback_id))


def list_callbacks(
    conn: sqlite3.Connection,
    *,
    status: str | None = None,
    phone: str | None = None,
    owner: str | None = None,
    ticket_id: int | None = None,
) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise UserError(f"callback status {status!r} is not one of {', '.join(STATUSES)}")
    where, params = [], []
    for column, value in (("status", status), ("phone", phone), ("owner", owner), ("ticket_id", ticket_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = f"SELECT {', '.join(COLUMNS)} FROM callbacks"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [_public(dict(zip(COLUMNS, r))) for r in conn.execute(sql + " ORDER BY due_at, id", params)]
