"""Erasure's reach into the service records: the person's free text goes, the records stay.

An erased person's tickets, ticket events and callbacks are kept (reporting, SLA figures and the audit
export still count them) but what a customer or an agent wrote about them is overwritten with
`[erased]`: ticket subject and body, every event note, the old and new text of subject/body changes,
callback notes and callback outcomes that are not a disposition code. Codes (kind, status, priority,
assignee, times, ids, the events' order and kinds) stay. The `ticket_events` trigger of migration 0010
allows exactly this overwrite, and only for a number whose contact is erased.
"""

from __future__ import annotations

import re
import sqlite3

ERASED = "[erased]"
# Notes cctool writes itself, with nothing about the person in them.
SYSTEM_NOTES = ("reopened", "from the SLA for the new kind/priority")
FREE_TEXT_FIELDS = ("subject", "body")
# A callback outcome such as `reached` or `no_answer`; anything else is taken as free text.
_OUTCOME_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


_NOTES = ", ".join(f"'{n}'" for n in SYSTEM_NOTES)
_FIELDS = ", ".join(f"'{f}'" for f in FREE_TEXT_FIELDS)
_EVENTS_SQL = f"""
UPDATE ticket_events SET
    note = CASE WHEN note IS NULL OR note IN ({_NOTES}) THEN note ELSE :erased END,
    old_value = CASE WHEN field IN ({_FIELDS}) AND old_value IS NOT NULL THEN :erased ELSE old_value END,
    new_value = CASE WHEN field IN ({_FIELDS}) AND new_value IS NOT NULL THEN :erased ELSE new_value END
WHERE ticket_id IN (SELECT id FROM tickets WHERE phone = :phone)
  AND ((note IS NOT NULL AND note NOT IN ({_NOTES}) AND note IS NOT :erased)
       OR (field IN ({_FIELDS})
           AND ((old_value IS NOT NULL AND old_value IS NOT :erased)
                OR (new_value IS NOT NULL AND new_value IS NOT :erased))))
"""


def is_outcome_code(outcome: str | None) -> bool:
    return outcome is None or _OUTCOME_CODE.fullmatch(outcome) is not None


def redact(conn: sqlite3.Connection, phone: str) -> dict[str, int]:
    """Overwrite the free text of `phone`'s service records (inside the erase transaction).

    Returns how many tickets, ticket events and callbacks were changed; 0s when nothing is left to
    redact, so a second erase changes nothing. `updated_at` is left alone: redaction is not a change
    to the ticket, and the audit row of the erase records it.
    """
    tickets = conn.execute(
        "UPDATE tickets SET subject = ?, body = NULL WHERE phone = ? AND (subject IS NOT ? OR body IS NOT NULL)",
        (ERASED, phone, ERASED),
    ).rowcount
    events = conn.execute(_EVENTS_SQL, {"erased": ERASED, "phone": phone}).rowcount
    callbacks = 0
    for callback_id, note, outcome in conn.execute(
        "SELECT id, note, outcome FROM callbacks WHERE phone = ? ORDER BY id", (phone,)
    ).fetchall():
        keep_outcome = is_outcome_code(outcome) or outcome == ERASED
        if note is None and keep_outcome:
            continue
        conn.execute(
            "UPDATE callbacks SET note = NULL, outcome = ? WHERE id = ?",
            (outcome if keep_outcome else ERASED, callback_id),
        )
        callbacks += 1
    return {"tickets": tickets, "ticket_events": events, "callbacks": callbacks}


def audit_rows_quoting_text(conn: sqlite3.Connection, phone: str) -> int:
    """Audit rows about `phone`'s tickets and callbacks that quote free text.

    Only databases written before migration 0010 have them (since then the log records a text's length,
    never the text). The hash chain forbids editing them, so the erase says how many it had to keep.
    """
    quotes = (
        "(json_extract(a.payload, '$.note') IS NOT NULL"
        f" OR (json_extract(a.payload, '$.field') IN ({_FIELDS})"
        "     AND (json_extract(a.payload, '$.old') IS NOT NULL OR json_extract(a.payload, '$.new') IS NOT NULL)))"
    )
    ticket_rows = conn.execute(
        "SELECT COUNT(*) FROM audit_log a WHERE a.entity = 'ticket' AND json_valid(a.payload) AND a.entity_id IN "
        f"(SELECT CAST(id AS TEXT) FROM tickets WHERE phone = ?) AND {quotes}",
        (phone,),
    ).fetchone()[0]
    outcomes = conn.execute(
        "SELECT json_extract(a.payload, '$.note'), json_extract(a.payload, '$.outcome') FROM audit_log a "
        "WHERE a.entity = 'callback' AND a.action IN ('cancel', 'done') AND json_valid(a.payload) "
        "AND a.entity_id IN (SELECT CAST(id AS TEXT) FROM callbacks WHERE phone = ?)",
        (phone,),
    ).fetchall()
    callback_rows = sum(1 for note, outcome in outcomes if note is not None or not is_outcome_code(outcome))
    return int(ticket_rows) + callback_rows
