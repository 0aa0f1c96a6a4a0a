"""The one-step opt-out: a number that says "stop" is suppressed in every campaign from that moment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .errors import UserError
from .store import Store
from .timeutil import to_iso, utcnow

CHANNELS = ("call", "sms", "email", "web")


def record(
    store: Store,
    phone: str,
    channel: str = "call",
    *,
    source: str = "cli",
    requested_at: datetime | None = None,
    effective_at: datetime | None = None,
) -> dict[str, Any]:
    """Record an opt-out for an E.164 number; effective at once unless told otherwise.

    The dialer records a callee's "stop" (a `dnc_request` disposition) through this with source 'call'.
    A second opt-out for the same number is recorded too: each request is evidence in its own right.
    """
    if channel not in CHANNELS:
        raise UserError(f"opt-out channel {channel!r} is not one of {', '.join(CHANNELS)}", exit_code=2)
    now = utcnow()
    row: dict[str, Any] = {
        "phone": phone,
        "channel": channel,
        "source": source,
        "requested_at": to_iso(requested_at or now),
        "effective_at": to_iso(effective_at or requested_at or now),
        "actor": store.actor,
    }
    with store.write() as conn:
        earlier = conn.execute("SELECT min(effective_at) FROM optouts WHERE phone = ?", (phone,)).fetchone()[
            0
        ]
        cursor = conn.execute(
            f"INSERT INTO optouts ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )
        row["id"] = cursor.lastrowid
        store.audit("optout", phone, "optout", row)
    # not part of the record: the operator is told the number was already suppressed, and since when
    return {**row, "opted_out_since": earlier or row["effective_at"]}
