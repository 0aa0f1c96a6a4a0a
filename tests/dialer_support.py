"""Small builders for dialer tests: a campaign loaded from YAML text, dialable contacts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from cctool import campaign_store
from cctool.campaign import load_file
from cctool.store import Store

# A Tuesday, 10:00 in New York: inside every preset's hours.
START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)

SURVEY = """
name: {name}
kind: survey
policy: us
seller: Acme
purpose: satisfaction survey
caller_id: "+14155550100"
segment: {{tags_any: [{tag}]}}
hours: {{start: "08:00", end: "21:00", days: [mon, tue, wed, thu, fri, sat, sun]}}
caps: {{total: {total}}}
retry: {{busy: 10m, no_answer: 1h, voicemail: 2h, abandoned: 1h}}
dialing: {{mode: {mode}, ring_timeout: 20s}}
script: satisfaction.j2
dispositions: [sale, interested, not_interested, callback, dnc_request, wrong_number]
success_dispositions: [sale]
"""


def load_campaign(
    store: Store,
    folder: Path,
    name: str = "survey",
    mode: str = "predictive",
    tag: str = "list",
    total: int = 4,
) -> str:
    path = folder / f"{name}.yaml"
    path.write_text(SURVEY.format(name=name, mode=mode, tag=tag, total=total), encoding="utf-8")
    campaign_store.load(store, load_file(path))
    return name


def add_contacts(store: Store, n: int, tag: str = "list", first: int = 0) -> list[int]:
    """n New York contacts tagged `tag`: +1212555xxxx."""
    ids = []
    with store.write() as conn:
        for i in range(first, first + n):
            cur = conn.execute(
                "INSERT INTO contacts (phone, region, number_type, number_zones, created_at, updated_at) "
                "VALUES (?, 'US', 'fixed', ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                (f"+1212555{i:04d}", json.dumps(["America/New_York"])),
            )
            ids.append(int(cur.lastrowid or 0))
            conn.execute("INSERT INTO contact_tags (contact_id, tag) VALUES (?, ?)", (ids[-1], tag))
        store.audit("contacts", None, "test_import", {"n": n})
    return ids
