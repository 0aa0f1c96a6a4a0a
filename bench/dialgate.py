"""Dial-gate throughput: `python -m bench.dialgate [CONTACTS]`.

The dialer calls `check_dial` before every dial, so it must keep up with the fastest pacing. Figures
beside two baselines measured in the same run: a bare indexed contact read (the floor any check pays) and
the pure `decide()` with no database (the rules alone). A run does not call `check_dial` itself: its
`Gate` reads a claimed block's records once and then answers each dial (`check_at`, the same decision);
both are timed on the same sample.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cctool import campaign_store, compliance, preview
from cctool.campaign import load_file
from cctool.dialgate import Gate, check_dial
from cctool.resources import data_dir
from cctool.store import open_store
from cctool.timeutil import to_iso

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 13:00 New York, 10:00 Los Angeles
AREA_ZONES = [("212", "America/New_York"), ("415", "America/Los_Angeles"), ("312", "America/Chicago")]


def build(path: Path, contacts: int) -> None:
    rng = random.Random(7)
    store = open_store(path, actor="bench", command="bench")
    with store.write() as conn:
        rows, tags, consents, optouts, attempts = [], [], [], [], []
        for i in range(1, contacts + 1):
            area, zone = AREA_ZONES[i % 3]
            phone = f"+1{area}{2000000 + i:07d}"
            rows.append((i, phone, "US", "fixed_or_mobile", json.dumps([zone]), "2026-06-01T00:00:00Z"))
            tags.append((i, "renewal-due"))
            if rng.random() < 0.9:
                consents.append((phone, to_iso(NOW - timedelta(days=rng.randrange(1, 300)))))
            if rng.random() < 0.03:
                optouts.append((phone, to_iso(NOW - timedelta(days=rng.randrange(1, 30)))))
            for _ in range(rng.choice([0, 0, 1, 2])):
                attempts.append((phone, i, to_iso(NOW - timedelta(minutes=rng.randrange(30, 5000)))))
        conn.executemany(
            "INSERT INTO contacts (id, phone, region, number_type, number_zones, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?6)",
            rows,
        )
        conn.executemany("INSERT INTO contact_tags (contact_id, tag) VALUES (?, ?)", tags)
        conn.executemany(
            "INSERT INTO consents (phone, purpose, action, source, given_at, recorded_at, actor) "
            "VALUES (?, 'marketing', 'grant', 'web', ?2, ?2, 'bench')",
            consents,
        )
        conn.executemany(
            "INSERT INTO optouts (phone, channel, requested_at, effective_at, actor) VALUES (?, 'call', ?2, ?2, 'b')",
            optouts,
        )
        conn.executemany(
            "INSERT INTO dnc_national (phone) VALUES (?)",
            [(f"+1{a}{3000000 + k:07d}",) for a, _ in AREA_ZONES for k in range(30_000)],
        )
        conn.execute(
            "INSERT INTO dnc_registry_loads (list, version, registry_date, loaded_at, count, sha256, file_name, "
            "actor) VALUES ('national', '2026-11', '2026-11-25', '2026-11-25T00:00:00Z', 90000, '', 'n.csv', 'b')"
        )
        conn.executemany(
            "INSERT INTO attempts (campaign, campaign_version, contact_id, phone, started_at, trunk, outcome) "
            "VALUES ('broadband-renewal-2026q4', 1, ?2, ?1, ?3, 'mock', 'no_answer')",
            attempts,
        )
        store.audit("bench", None, "build", {"contacts": contacts})
    campaign_store.load(store, load_file(data_dir("campaigns") / "renewal-us.yaml"))
    store.close()


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def main(argv: list[str]) -> int:
    contacts = int(argv[0]) if argv else 20_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        build(path, contacts)
        store = open_store(path, actor="bench", command="bench")
        conn = store.conn
        campaign = campaign_store.get(conn, "broadband-renewal-2026q4")
        ids = list(range(1, contacts + 1))
        random.Random(1).shuffle(ids)
        sample = ids[:5000]

        start = time.perf_counter()
        for cid in sample:
            conn.execute("SELECT * FROM contacts WHERE id = ?", (cid,)).fetchone()
        floor = time.perf_counter() - start

        facts = compliance.ContactFacts(
            phone="+12122000001", zones=("America/New_York",), marketing_consent="grant"
        )
        rules = campaign.rules()
        start = time.perf_counter()
        for _ in sample:
            compliance.decide(facts, rules, compliance.History(), NOW)
        pure = time.perf_counter() - start

        start = time.perf_counter()
        allowed = sum(check_dial(conn, campaign, cid, NOW).allowed for cid in sample)
        gate = time.perf_counter() - start

        run_gate = Gate(conn, campaign)  # a run's gate: the block's records read once, then every dial
        start = time.perf_counter()
        run_gate.load(sample)
        loaded = time.perf_counter() - start
        us = (NOW - compliance.instant(0)) // compliance.US
        start = time.perf_counter()
        fast = sum(run_gate.check_at(cid, us).allowed for cid in sample)
        per_dial = time.perf_counter() - start
        assert fast == allowed, (fast, allowed)

        start = time.perf_counter()
        doc = preview.preview(conn, campaign.name, NOW)
        whole = time.perf_counter() - start
        store.close()

    print(
        f"{contacts:,} contacts, 90,000 national DNC numbers, checks of 5,000 random contacts at {to_iso(NOW)}"
    )
    print(f"{'measure':<34}{'time':>10}{'rate':>14}{'vs floor':>10}")
    for name, seconds in (
        ("baseline: indexed contact read", floor),
        ("baseline: pure decide()", pure),
        ("check_dial (records + decide)", gate),
        ("run gate: load the block", loaded),
        ("run gate: check_at per dial", per_dial),
    ):
        print(f"{name:<34}{seconds:>9.3f}s{rate(len(sample), seconds):>14}{seconds / floor:>9.1f}x")
    print(f"{'preview of the whole segment':<34}{whole:>9.3f}s{rate(doc['in_segment'], whole):>14}")
    print(f"allowed {allowed} of {len(sample)}; preview dialable {doc['dialable']} of {doc['in_segment']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
