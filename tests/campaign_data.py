"""Small builders of contacts, consents and registry loads for the campaign tests (plain SQL, so these tests
do not depend on the contacts and dnc areas)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from cctool.phones import normalize
from cctool.store import Store
from cctool.timeutil import to_iso

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "campaigns"


def add_contact(
    store: Store,
    phone: str,
    *,
    tags: Iterable[str] = (),
    name: str | None = None,
    tz: str | None = None,
    attributes: dict | None = None,
    created_at: str = "2026-06-01T00:00:00Z",
    source: str | None = None,
) -> int:
    number = normalize(phone)
    with store.write() as conn:
        cur = conn.execute(
            "INSERT INTO contacts (phone, region, number_type, number_zones, timezone, name, attributes, source, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number.e164,
                number.region,
                number.number_type,
                json.dumps(list(number.zones)),
                tz,
                name,
                json.dumps(attributes or {}, ensure_ascii=False),
                source,
                created_at,
                created_at,
            ),
        )
        contact_id = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO contact_tags (contact_id, tag) VALUES (?, ?)", [(contact_id, t) for t in tags]
        )
        store.audit("contact", contact_id, "test-add", {})
    return contact_id


def consent(store: Store, phone: str, at: datetime, action: str = "grant") -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO consents (phone, purpose, action, source, given_at, recorded_at, actor) "
            "VALUES (?, 'marketing', ?, 'web', ?, ?, 't')",
            (phone, action, to_iso(at), to_iso(at)),
        )


def registry(store: Store, date: str, numbers: Iterable[str] = ()) -> None:
    numbers = list(numbers)
    with store.write() as conn:
        conn.execute(
            "INSERT INTO dnc_registry_loads (list, version, registry_date, loaded_at, count, sha256, file_name, "
            "actor) VALUES ('national', ?, ?, ?, ?, '', 'f.csv', 't')",
            (f"v-{date}", date, date + "T00:00:00Z", len(numbers)),
        )
        conn.executemany("INSERT OR IGNORE INTO dnc_national (phone) VALUES (?)", [(n,) for n in numbers])


def optout(store: Store, phone: str, at: datetime) -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO optouts (phone, channel, requested_at, effective_at, actor) VALUES (?, 'call', ?, ?, 't')",
            (phone, to_iso(at), to_iso(at)),
        )
