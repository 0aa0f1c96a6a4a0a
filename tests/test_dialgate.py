"""The dial gate reads the records as they stand at the instant of the dial."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cctool import campaign_store
from cctool.dialgate import check_dial
from cctool.store import Store
from cctool.timeutil import to_iso

NOON_NY = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 12:00 in New York


def add_campaign(store: Store, name: str = "renewal", kind: str = "marketing", **columns) -> None:
    row = dict(
        campaign=name,
        version=1,
        sha256="x" * 64,
        text="",
        loaded_at="2026-11-01T00:00:00Z",
        actor="t",
        kind=kind,
        policy="us",
        caller_id="+14155550100",
        hours_start="08:00",
        hours_end="21:00",
        days="mon,tue,wed,thu,fri,sat,sun",
        abandon_cap=0.03,
        abandon_window="30d",
        abandon_lock_s=0,
        registry_max_age_s=31 * 86400,
        definition=json.dumps({"name": name}),
    )
    row.update(columns)
    with store.write() as conn:
        conn.execute(
            "INSERT INTO campaigns (name, kind, current_version, created_at, updated_at) VALUES (?, ?, 1, ?, ?)",
            (name, kind, "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z"),
        )
        conn.execute(
            f"INSERT INTO campaign_versions ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )


def add_contact(store: Store, phone: str = "+12125550123", zones=("America/New_York",), tz=None) -> int:
    with store.write() as conn:
        cur = conn.execute(
            "INSERT INTO contacts (phone, region, number_zones, timezone, created_at, updated_at) "
            "VALUES (?, 'US', ?, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            (phone, json.dumps(list(zones)), tz),
        )
        return int(cur.lastrowid or 0)


def grant(store: Store, phone: str, at: datetime, action: str = "grant") -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO consents (phone, purpose, action, source, given_at, recorded_at, actor) "
            "VALUES (?, 'marketing', ?, 'web', ?, ?, 't')",
            (phone, action, to_iso(at), to_iso(at)),
        )


def load_registry(store: Store, date: str = "2026-11-25", numbers=()) -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO dnc_registry_loads (list, version, registry_date, loaded_at, count, sha256, file_name, actor)"
            " VALUES ('national', ?, ?, ?, ?, '', 'f.csv', 't')",
            (f"v-{date}", date, date + "T00:00:00Z", len(numbers)),
        )
        conn.executemany("INSERT OR IGNORE INTO dnc_national (phone) VALUES (?)", [(n,) for n in numbers])


@pytest.fixture
def ready(store: Store):
    add_campaign(store)
    cid = add_contact(store)
    grant(store, "+12125550123", datetime(2026, 1, 1, tzinfo=UTC))
    load_registry(store)
    return store, cid


def test_a_consented_contact_inside_hours_is_dialable(ready) -> None:
    store, cid = ready
    check = check_dial(store.conn, campaign_store.get(store.conn, "renewal"), cid, NOON_NY)
    assert check.allowed, check.reasons
    assert check.zone == "America/New_York" and check.zone_source == "number"
    assert check.local_time.hour == 12
    assert check.registry_version == "v-2026-11-25"
    assert "registry_stale" in check.rules_checked and "no_consent" in check.rules_checked


@pytest.mark.parametrize("offset", [-1, 0])
def test_an_opt_out_effective_a_second_before_or_at_the_dial_blocks_it(ready, offset: int) -> None:
    store, cid = ready
    at = NOON_NY + timedelta(seconds=offset)
    with store.write() as conn:
        conn.execute(
            "INSERT INTO optouts (phone, channel, requested_at, effective_at, actor) VALUES (?, 'call', ?, ?, 't')",
            ("+12125550123", to_iso(at), to_iso(at)),
        )
    check = check_dial(store.conn, campaign_store.get(store.conn, "renewal"), cid, NOON_NY)
    assert check.reasons == ("opted_out",)


def test_an_opt_out_effective_a_second_after_the_dial_does_not_block_it(ready) -> None:
    store, cid = ready
    at = to_iso(NOON_NY + timedelta(seconds=1))
    with store.write() as conn:
        conn.execute(
            "INSERT INTO optouts (phone, channel, requested_at, effective_at, actor) VALUES (?, 'call', ?, ?, 't')",
            ("+12125550123", at, at),
        )
    assert check_dial(store.conn, campaign_store.get(store.conn, "renewal"), cid, NOON_NY).allowed


def test_fractional_seconds_compare_as_times_not_as_text(ready) -> None:
    store, cid = ready
    with store.write() as conn:
        conn.execute(
            "INSERT INTO optouts (phone, channel, requested_at, effective_at, actor) VALUES (?, 'call', ?, ?, 't')",
            ("+12125550123", "2026-12-01T17:00:00Z", "2026-12-01T17:00:00Z"),
        )
    half_past = NOON_NY + timedelta(milliseconds=500)
    assert check_dial(store.conn, campaign_store.get(store.conn, "renewal"), cid, half_past).reasons == (
        "opted_out",
    )


def test_internal_dnc_counts_only_while_the_entry_is_open(ready) -> None:
    store, cid = ready
    with store.write() as conn:
        conn.execute(
            "INSERT INTO dnc_internal (phone, added_at, added_by, removed_at, removed_by) VALUES (?, ?, 't', ?, 't')",
            ("+12125550123", "2026-11-01T00:00:00Z", to_iso(NOON_NY - timedelta(seconds=1))),
        )
    campaign = campaign_store.get(store.conn, "renewal")
    assert check_dial(store.conn, campaign, cid, NOON_NY).allowed
    assert check_dial(store.conn, campaign, cid, NOON_NY - timedelta(seconds=2)).reasons == ("dnc_internal",)


def test_revoked_consent_national_list_and_a_stale_copy(store: Store) -> None:
    add_campaign(store)
    cid = add_contact(store)
    grant(store, "+12125550123", datetime(2026, 1, 1, tzinfo=UTC))
    grant(store, "+12125550123", NOON_NY - timedelta(minutes=1), "revoke")
    load_registry(store, "2026-10-01", numbers=["+12125550123"])
    check = check_dial(store.conn, campaign_store.get(store.conn, "renewal"), cid, NOON_NY)
    assert check.reasons == ("dnc_national", "consent_revoked", "registry_stale")


def test_pause_is_read_at_the_instant_not_from_the_campaign_object(ready) -> None:
    store, cid = ready
    campaign = campaign_store.get(store.conn, "renewal")
    with store.write() as conn:
        conn.execute("UPDATE campaigns SET paused = 1 WHERE name = 'renewal'")
    assert check_dial(store.conn, campaign, cid, NOON_NY).reasons == ("campaign_paused",)


def test_earlier_attempts_of_this_campaign_drive_gap_and_abandon_lock(store: Store) -> None:
    add_campaign(store, "care", kind="followup", policy="uk", min_gap_s=3600, abandon_lock_s=72 * 3600)
    cid = add_contact(store, "+447700900123", zones=("Europe/London",))
    with store.write() as conn:
        for minutes, outcome, campaign in ((-30, "abandoned", "care"), (-10, "busy", "other")):
            conn.execute(
                "INSERT INTO attempts (campaign, campaign_version, contact_id, phone, started_at, trunk, outcome)"
                " VALUES (?, 1, ?, '+447700900123', ?, 'mock', ?)",
                (campaign, cid, to_iso(NOON_NY + timedelta(minutes=minutes)), outcome),
            )
    check = check_dial(store.conn, campaign_store.get(store.conn, "care"), cid, NOON_NY)
    assert check.reasons == ("min_gap", "abandon_lock")
    assert check.next_allowed_at == NOON_NY - timedelta(minutes=30) + timedelta(hours=72)


def test_a_callback_the_customer_asked_for_after_opting_out_may_be_dialed(store: Store) -> None:
    add_campaign(store, "care", kind="followup", policy="us", registry_max_age_s=None)
    cid = add_contact(store)
    with store.write() as conn:
        conn.execute(
            "INSERT INTO optouts (phone, channel, requested_at, effective_at, actor) VALUES (?, 'call', ?, ?, 't')",
            ("+12125550123", "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z"),
        )
    campaign = campaign_store.get(store.conn, "care")
    assert check_dial(store.conn, campaign, cid, NOON_NY, callback_requested=True).reasons == ("opted_out",)
    with store.write() as conn:
        conn.execute(
            "INSERT INTO callbacks (phone, contact_id, due_at, requested_by_customer, created_at, created_by) "
            "VALUES ('+12125550123', ?, ?, 1, '2026-11-30T10:00:00Z', 't')",
            (cid, to_iso(NOON_NY)),
        )
    assert check_dial(store.conn, campaign, cid, NOON_NY, callback_requested=True).allowed
    assert check_dial(store.conn, campaign, cid, NOON_NY).reasons == ("opted_out",)


def test_the_contacts_own_zone_wins_and_erasure_blocks(store: Store) -> None:
    add_campaign(store, "care", kind="followup", registry_max_age_s=None)
    cid = add_contact(store, zones=("America/New_York",), tz="America/Los_Angeles")
    campaign = campaign_store.get(store.conn, "care")
    check = check_dial(store.conn, campaign, cid, NOON_NY)  # 09:00 in Los Angeles
    assert check.allowed and check.zone == "America/Los_Angeles" and check.zone_source == "contact"
    with store.write() as conn:
        conn.execute(
            "INSERT INTO suppressions (phone, reason, created_at, actor) VALUES ('+12125550123', 'erased', ?, 't')",
            (to_iso(NOON_NY),),
        )
    assert check_dial(store.conn, campaign, cid, NOON_NY).reasons == ("erased",)


def test_checks_use_indexes_and_stay_fast_on_a_busy_database(store: Store) -> None:
    """Not a benchmark (see bench/dialgate.py): a guard against a check that scans whole tables."""
    import time

    add_campaign(store)
    load_registry(store, numbers=[f"+1212{3000000 + k:07d}" for k in range(20_000)])
    ids = [add_contact(store, f"+1212{2000000 + k:07d}") for k in range(300)]
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO attempts (campaign, campaign_version, phone, started_at, trunk, outcome) "
            "VALUES ('renewal', 1, ?, '2026-11-30T15:00:00Z', 'mock', 'busy')",
            [(f"+1212{4000000 + k:07d}",) for k in range(20_000)],
        )
    campaign = campaign_store.get(store.conn, "renewal")
    plan = " ".join(
        str(row)
        for row in store.conn.execute(
            "EXPLAIN QUERY PLAN SELECT started_at FROM attempts WHERE phone = ? AND campaign = ?", ("+1", "r")
        )
    )
    assert "USING INDEX attempts_phone " in plan
    start = time.perf_counter()
    for cid in ids * 3:
        check_dial(store.conn, campaign, cid, NOON_NY)
    assert time.perf_counter() - start < 2.0  # 900 checks; bench measures > 10,000/s


def test_a_number_mapping_to_several_zones_must_be_inside_the_window_in_all(store: Store) -> None:
    add_campaign(store, "care", kind="followup", registry_max_age_s=None)
    cid = add_contact(store, "+18005550100", zones=("America/New_York", "America/Los_Angeles"))
    campaign = campaign_store.get(store.conn, "care")
    early = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 09:00 New York, 06:00 Los Angeles
    check = check_dial(store.conn, campaign, cid, early)
    assert check.reasons == ("outside_hours",) and check.zone_source == "number"
    assert check.zones == ("America/New_York", "America/Los_Angeles")
    assert check.next_allowed_at == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 08:00 Los Angeles
    assert check_dial(store.conn, campaign, cid, check.next_allowed_at).allowed


def test_zones_come_from_the_number_itself_when_the_contact_row_has_none(store: Store) -> None:
    add_campaign(store, "care", kind="followup", registry_max_age_s=None)
    cid = add_contact(store, "+14155552671", zones=())
    check = check_dial(store.conn, campaign_store.get(store.conn, "care"), cid, NOON_NY)
    assert check.zones == ("America/Los_Angeles",) and check.zone_source == "number"


def test_the_wal_index_view_leaves_sqlites_locks_on_the_shm_file_in_place(store: Store) -> None:
    """Closing a descriptor of the -shm file would drop SQLite's POSIX locks on it (this process's
    lock of the WAL index): another process opening the database then reinitialises the index under
    this one (a dial run died with SIGBUS when the audit export's JSON writer opened the database)."""
    import os
    from pathlib import Path

    from cctool.dialgate import wal_index_view

    locks = Path("/proc/locks")
    if not locks.exists():
        pytest.skip("needs Linux /proc/locks")
    store.conn.execute("SELECT count(*) FROM audit_log").fetchone()
    inode = os.stat(f"{store.path}-shm").st_ino

    def held() -> bool:
        return any(
            line.split()[4] == str(os.getpid()) and line.split()[5].endswith(f":{inode}")
            for line in locks.read_text().splitlines()
            if "POSIX" in line
        )

    assert held()
    assert wal_index_view(store.conn) is not None
    assert wal_index_view(store.conn) is wal_index_view(store.conn)
    assert held()
