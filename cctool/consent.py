"""Consent records: append-only grants and revocations per number and purpose; the latest is in force."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .errors import UserError
from .store import Store
from .suppression import consent_in_force
from .timeutil import to_iso, utcnow

PURPOSES = ("marketing", "survey")
ACTIONS = ("grant", "revoke")
_CLOCK_SLACK = timedelta(minutes=1)  # a consent given "now" on a machine whose clock runs a little ahead


def record(
    store: Store,
    phone: str,
    purpose: str,
    action: str,
    source: str,
    evidence: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Append one grant or revoke for an E.164 number; `at` is when it was given (default now)."""
    if purpose not in PURPOSES:
        raise UserError(f"consent purpose {purpose!r} is not one of {', '.join(PURPOSES)}", exit_code=2)
    if action not in ACTIONS:
        raise UserError(f"consent action {action!r} is not one of {', '.join(ACTIONS)}", exit_code=2)
    if not (source or "").strip():
        raise UserError(
            "consent needs a --source saying where it came from (e.g. web-form, call, file name)", exit_code=2
        )
    now = utcnow()
    given = at or now
    if given > now + _CLOCK_SLACK:
        raise UserError(f"consent time {to_iso(given)} is in the future: give the time it was actually given")
    row: dict[str, Any] = {
        "phone": phone,
        "purpose": purpose,
        "action": action,
        "source": source.strip(),
        "evidence": evidence,
        "given_at": to_iso(given),
        "recorded_at": to_iso(now),
        "actor": store.actor,
    }
    with store.write() as conn:
        cursor = conn.execute(
            f"INSERT INTO consents ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
        row["id"] = cursor.lastrowid
        store.audit("consent", phone, action, row)
    return row


def history(store: Store, phone: str) -> list[dict[str, Any]]:
    """Every consent record of a number, oldest first."""
    cursor = store.conn.execute(
        "SELECT id, phone, purpose, action, source, evidence, given_at, recorded_at, actor FROM consents"
        " WHERE phone = ? ORDER BY given_at, id",
        (phone,),
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor]


def in_force(store: Store, phone: str, at: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Per purpose: granted/revoked and the record in force at `at` (default now)."""
    moment = at or utcnow()
    return {p: consent_in_force(store.conn, phone, p, moment).__dict__ for p in PURPOSES}
