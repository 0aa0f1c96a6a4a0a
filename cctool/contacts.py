"""Contacts: look people up by any spelling of their number, list, export and erase them.

Erasure (GDPR art. 17, PIPL art. 47) restricts rather than deletes: the person's details go, and so does
the free text of their tickets and callbacks (`redaction.py`); the number stays in `suppressions` so it
is never dialled again, and the records and audit rows a legal hold needs stay.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from typing import Any, TextIO

from . import redaction
from .errors import UserError
from .phones import InvalidNumber, normalize, region_code
from .store import Store
from .timeutil import to_iso, utcnow

EXPORT_FIELDS = ["phone", "name", "email", "tags", "timezone", "marketing_consent"]
_COLUMNS = "id, phone, region, number_type, number_zones, timezone, name, email, attributes, source, created_at, updated_at, erased_at"


def candidates(conn: sqlite3.Connection, text: str, region: str | None = None) -> list[str]:
    """E.164 forms the text could mean: as written, with --region, then with each region already in the book."""
    regions: list[str | None] = [None, region_code(region)]
    regions += [
        r[0] for r in conn.execute("SELECT region FROM contacts GROUP BY region ORDER BY COUNT(*) DESC")
    ]
    found: list[str] = []
    for option in regions:
        try:
            number = normalize(text, option).e164
        except InvalidNumber:
            continue
        if number not in found:
            found.append(number)
    return found


def find(conn: sqlite3.Connection, text: str, region: str | None = None) -> dict[str, Any]:
    """The contact a user means by `text` in any format, or a one-line UserError."""
    options = candidates(conn, text, region)
    if not options:
        hint = "" if (text or "").strip().startswith("+") else " (use +country format or give --region)"
        raise UserError(f"phone number {text!r} is not a valid number{hint}")
    for e164 in options:
        row = conn.execute(f"SELECT {_COLUMNS} FROM contacts WHERE phone = ?", (e164,)).fetchone()
        if row is not None:
            return _contact(conn, row)
    raise UserError(f"no contact with number {options[0]} ({text!r})")


def _contact(conn: sqlite3.Connection, row: tuple[Any, ...]) -> dict[str, Any]:
    keys = [k.strip() for k in _COLUMNS.split(",")]
    contact = dict(zip(keys, row))
    contact["number_zones"] = json.loads(contact["number_zones"] or "[]")
    contact["attributes"] = json.loads(contact["attributes"] or "{}")
    contact["tags"] = [
        t
        for (t,) in conn.execute(
            "SELECT tag FROM contact_tags WHERE contact_id = ? ORDER BY tag", (contact["id"],)
        )
    ]
    contact["marketing_consent"] = latest_consent(conn, contact["phone"])
    return contact


def latest_consent(conn: sqlite3.Connection, phone: str, purpose: str = "marketing") -> str | None:
    """'grant' or 'revoke' from the record in force, or None when there is none."""
    row = conn.execute(
        "SELECT action FROM consents WHERE phone = ? AND purpose = ? ORDER BY given_at DESC, id DESC LIMIT 1",
        (phone, purpose),
    ).fetchone()
    return row[0] if row else None


def show(conn: sqlite3.Connection, text: str, region: str | None = None) -> dict[str, Any]:
    """One contact with its consent history and suppressions."""
    contact = find(conn, text, region)
    contact["consents"] = [
        dict(zip(("purpose", "action", "source", "evidence", "given_at", "actor"), r))
        for r in conn.execute(
            "SELECT purpose, action, source, evidence, given_at, actor FROM consents WHERE phone = ? ORDER BY given_at, id",
            (contact["phone"],),
        )
    ]
    contact["suppressions"] = [
        dict(zip(("reason", "created_at", "actor"), r))
        for r in conn.execute(
            "SELECT reason, created_at, actor FROM suppressions WHERE phone = ? ORDER BY id",
            (contact["phone"],),
        )
    ]
    return contact


def iter_contacts(
    conn: sqlite3.Connection, tag: str | None = None, include_erased: bool = False
) -> Iterator[dict[str, Any]]:
    """Contacts in id order, with tags and the marketing consent in force; one streaming query."""
    where, params = [], []
    if tag:
        where.append("c.id IN (SELECT contact_id FROM contact_tags WHERE tag = ?)")
        params.append(tag)
    if not include_erased:
        where.append("c.erased_at IS NULL")
    columns = ", ".join(f"c.{k.strip()}" for k in _COLUMNS.split(","))
    sql = (
        f"SELECT {columns}, "
        "(SELECT group_concat(tag, char(31)) FROM (SELECT tag FROM contact_tags WHERE contact_id = c.id ORDER BY tag)), "
        "(SELECT action FROM consents WHERE phone = c.phone AND purpose = 'marketing' "
        " ORDER BY given_at DESC, id DESC LIMIT 1) "
        "FROM contacts c" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY c.id"
    )
    keys = [k.strip() for k in _COLUMNS.split(",")]
    for row in conn.execute(sql, params):
        contact = dict(zip(keys, row))
        contact["number_zones"] = json.loads(contact["number_zones"] or "[]")
        contact["attributes"] = json.loads(contact["attributes"] or "{}")
        contact["tags"] = row[-2].split("\x1f") if row[-2] else []
        contact["marketing_consent"] = row[-1]
        yield contact


def export_csv(conn: sqlite3.Connection, out: TextIO, tag: str | None = None) -> int:
    """Write contacts as a CSV that `contacts import` reads back to the same state; returns the row count."""
    keys = {
        k
        for (k,) in conn.execute(
            "SELECT DISTINCT j.key FROM contacts, json_each(contacts.attributes) j WHERE contacts.erased_at IS NULL"
        )
    }
    attribute_keys = sorted(keys - set(EXPORT_FIELDS))
    writer = csv.writer(out)
    writer.writerow(EXPORT_FIELDS + attribute_keys)
    consent_words = {"grant": "yes", "revoke": "no", None: ""}
    count = 0
    for c in iter_contacts(conn, tag):
        writer.writerow(
            [c["phone"], c["name"] or "", c["email"] or "", "|".join(c["tags"]), c["timezone"] or ""]
            + [consent_words[c["marketing_consent"]]]
            + [c["attributes"].get(k, "") for k in attribute_keys]
        )
        count += 1
    return count


def erase(store: Store, text: str, region: str | None = None) -> dict[str, Any]:
    """Erase a person: clear their details and tags, redact their service records' free text, keep the
    number suppressed for ever. Idempotent: erasing again only redacts records made since (a ticket
    logged from the number after the erasure), and writes nothing when there are none.
    """
    # Zero the freed bytes too, so the overwritten text does not linger in the file's free space.
    secure = store.conn.execute("PRAGMA secure_delete").fetchone()[0]
    store.conn.execute("PRAGMA secure_delete = ON")
    try:
        return _erase(store, text, region)
    finally:
        store.conn.execute(f"PRAGMA secure_delete = {int(secure)}")


def _erase(store: Store, text: str, region: str | None) -> dict[str, Any]:
    with store.write() as conn:
        contact = find(conn, text, region)
        phone = contact["phone"]
        if contact["erased_at"]:
            redacted = redaction.redact(conn, phone)
            result = {"phone": phone, "erased_at": contact["erased_at"], "already_erased": True}
            if any(redacted.values()):
                store.audit("contacts", contact["id"], "contacts.erase", {**result, "redacted": redacted})
            return {**result, "redacted": redacted}
        now = to_iso(utcnow())
        conn.execute(
            "UPDATE contacts SET name = NULL, email = NULL, attributes = '{}', timezone = NULL, "
            "updated_at = ?, erased_at = ? WHERE id = ?",
            (now, now, contact["id"]),
        )
        conn.execute("DELETE FROM contact_tags WHERE contact_id = ?", (contact["id"],))
        conn.execute(
            "INSERT INTO suppressions (phone, reason, created_at, actor) VALUES (?, 'erased', ?, ?)",
            (phone, now, store.actor),
        )
        redacted = redaction.redact(conn, phone)
        quoting = redaction.audit_rows_quoting_text(conn, phone)
        kept = {
            "phone": "in suppressions, so the number is never dialled again",
            "consents": "append-only evidence of what the person agreed to",
            "audit_log": "legal record of what was done"
            + (
                f"; {quoting} row(s) written before cctool recorded free text by length only still quote "
                "ticket or callback text (the hash chain forbids editing them)"
                if quoting
                else ""
            ),
            "tickets_callbacks_attempts": "call and service records under their retention hold, their free "
            "text (ticket subject/body, event notes, subject/body changes, callback notes) overwritten "
            "with [erased]",
        }
        store.audit(
            "contacts",
            contact["id"],
            "contacts.erase",
            {
                "phone": phone,
                "cleared": ["name", "email", "attributes", "timezone", "tags"],
                "redacted": redacted,
                "kept": kept,
            },
        )
    return {
        "phone": phone,
        "erased_at": now,
        "already_erased": False,
        "kept": sorted(kept),
        "redacted": redacted,
    }
