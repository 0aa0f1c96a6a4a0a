"""The campaigns step of `cctool demo`: load the example campaigns and preview each one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from . import campaign_store, preview
from .campaign import load_file
from .phones import normalize
from .resources import data_dir
from .store import Store
from .timeutil import to_iso, utcnow

# Used only when the demo reaches this step with no contacts (the contacts step normally comes first).
_SAMPLE = [
    ("+14155552671", "Ann Lee", ["customer", "renewal-due"]),
    ("+12125550123", "Bob Ruiz", ["customer", "renewal-due", "vip"]),
    ("+8613812345678", "陈晓", ["customer"]),
    ("+8613912345678", "王芳", ["customer", "complaint"]),
    ("+442079460000", "Dora Hale", ["customer", "new-customer"]),
]


def _sample_contacts(store: Store) -> int:
    now = to_iso(utcnow())
    with store.write() as conn:
        for phone, name, tags in _SAMPLE:
            number = normalize(phone)
            cur = conn.execute(
                "INSERT OR IGNORE INTO contacts (phone, region, number_type, number_zones, name, source, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, 'demo', ?, ?)",
                (
                    number.e164,
                    number.region,
                    number.number_type,
                    json.dumps(list(number.zones)),
                    name,
                    now,
                    now,
                ),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO contact_tags (contact_id, tag) VALUES (?, ?)",
                [(cur.lastrowid, tag) for tag in tags],
            )
        store.audit("contact", None, "demo-sample", {"count": len(_SAMPLE)})
    return len(_SAMPLE)


def demo(store: Store, workdir: Path, say: Callable[[str], None]) -> None:
    """Load every example campaign, then say who each could dial now and why the others wait."""
    if store.conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0:
        say(f"no contacts yet: adding {_sample_contacts(store)} sample contacts")
    for path in sorted(data_dir("campaigns").glob("*.yaml")):
        result = campaign_store.load(store, load_file(path))
        found = campaign_store.get(store.conn, result.name)
        say(
            f"loaded [bold]{found.name}[/bold] v{found.version} ({found.kind}, {found.policy} preset, "
            f"script {found.script}, segment {json.dumps(found.definition['segment'], ensure_ascii=False)})"
        )
        doc = preview.preview(store.conn, found.name)
        blocked = ", ".join(f"{reason} {count}" for reason, count in doc["blocked"].items()) or "none"
        opens = f"; next opens {doc['next_open_at']}" if doc["next_open_at"] else ""
        say(f"  preview now: {doc['dialable']} of {doc['in_segment']} dialable; blocked: {blocked}{opens}")
        if not doc["in_segment"]:
            tags = found.definition["segment"].get("tags_any") or found.definition["segment"].get("tags_all")
            say(
                f"  (no contact carries {tags} yet: import with `--tag {tags[0] if tags else 'TAG'}` to fill it)"
            )
