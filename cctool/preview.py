"""Campaign preview: "why is nothing dialing?" - who in the segment could be dialed at a given time, and
for the rest, which rules block them and when the first of them opens up.

Preview judges the records as they stand now with the clock set to T (past or future): opt-outs, lists,
consents and erasures are read as of now (or T, when T is later), earlier attempts as of T. It writes
nothing.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime
from typing import Any

from . import campaign_store, segment
from .compliance import REASONS
from .dialgate import check_dial
from .timeutil import to_iso, utcnow


def preview(
    conn: sqlite3.Connection, name: str, at: datetime | None = None, *, contacts: bool = False
) -> dict[str, Any]:
    """The preview document (the JSON of `cctool campaign preview`)."""
    campaign = campaign_store.get(conn, name)
    moment = at or utcnow()
    records_at = max(moment, utcnow())
    ids = segment.contact_ids(conn, campaign.definition.get("segment"))
    blocked: Counter[str] = Counter()
    dialable = 0
    next_open: datetime | None = None
    listed: list[dict[str, Any]] = []
    for contact_id in ids:
        check = check_dial(conn, campaign, contact_id, moment, records_at=records_at)
        if check.allowed:
            dialable += 1
        else:
            blocked.update(check.reasons)
            if check.next_allowed_at and (next_open is None or check.next_allowed_at < next_open):
                next_open = check.next_allowed_at
        if contacts:
            listed.append(
                {
                    "phone": check.phone,
                    "allowed": check.allowed,
                    "reasons": list(check.reasons),
                    "next_allowed_at": to_iso(check.next_allowed_at) if check.next_allowed_at else None,
                }
            )
    return {
        "campaign": campaign.name,
        "version": campaign.version,
        "at": to_iso(moment),
        "in_segment": len(ids),
        "dialable": dialable,
        "blocked": {reason: blocked[reason] for reason in REASONS if blocked[reason]},
        "next_open_at": to_iso(next_open) if next_open else None,
        "contacts": listed,
    }
