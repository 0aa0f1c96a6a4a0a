"""The run's gate (`dialgate.Gate`) gives the same answer as `check_dial`, at every instant.

It loads a claimed block's records once; these tests change the records between dials - through the
same connection, through another connection (another process) - and compare both on random states.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cctool import campaign_store
from cctool.compliance import US, instant
from cctool.dialgate import Gate, RunCheck, check_dial, wal_index_view
from cctool.store import Store
from cctool.timeutil import to_iso
from tests.test_dialgate import NOON_NY, add_campaign, add_contact, load_registry

PHONES = [f"+1212555{n:04d}" for n in range(12)]


def _moment(rng: random.Random) -> str:
    """A time around the dials, sometimes with fractional seconds, sometimes without a Z."""
    at = NOON_NY + timedelta(seconds=rng.choice([-86400 * 3, -7200, -60, -1, 0, 1, 30, 600, 3600]))
    at += timedelta(milliseconds=rng.choice([0, 0, 0, 500]))
    text = to_iso(at)
    return text.replace("Z", "+00:00") if rng.random() < 0.2 else text


def _random_record(conn: sqlite3.Connection, rng: random.Random, phone: str) -> None:
    kind = rng.choice(
        ["optout", "dnc", "dnc_closed", "consent", "suppression", "erase", "attempt", "national"]
    )
    at = _moment(rng)
    if kind == "optout":
        conn.execute(
            "INSERT INTO optouts (phone, channel, requested_at, effective_at, actor) VALUES (?, 'call', ?, ?, 't')",
            (phone, at, at),
        )
    elif (
        kind == "dnc"
        and not conn.execute(
            "SELECT 1 FROM dnc_internal WHERE phone = ? AND removed_at IS NULL", (phone,)
        ).fetchone()
    ):
        conn.execute("INSERT INTO dnc_internal (phone, added_at, added_by) VALUES (?, ?, 't')", (phone, at))
    elif kind == "dnc_closed":
        conn.execute(
            "INSERT INTO dnc_internal (phone, added_at, added_by, removed_at, removed_by) VALUES (?, ?, 't', ?, 't')",
            (phone, at, _moment(rng)),
        )
    elif kind == "consent":
        conn.execute(
            "INSERT INTO consents (phone, purpose, action, source, given_at, recorded_at, actor) "
            "VALUES (?, 'marketing', ?, 'web', ?, ?, 't')",
            (phone, rng.choice(["grant", "grant", "revoke"]), at, at),
        )
    elif kind == "suppression":
        conn.execute(
            "INSERT INTO suppressions (phone, reason, created_at, actor) VALUES (?, ?, ?, 't')",
            (phone, rng.choice(["erasure", "legal hold"]), at),
        )
    elif kind == "erase":
        conn.execute("UPDATE contacts SET erased_at = ? WHERE phone = ?", (at, phone))
    elif kind == "attempt":
        conn.execute(
            "INSERT INTO attempts (campaign, campaign_version, phone, started_at, trunk, outcome) "
            "VALUES ('renewal', 1, ?, ?, 'mock', ?)",
            (phone, at, rng.choice(["busy", "no_answer", "abandoned", "answered", "invalid"])),
        )
    else:
        conn.execute("INSERT OR IGNORE INTO dnc_national (phone) VALUES (?)", (phone,))


def _same(store: Store, gate: Gate, ids: list[int], at: datetime) -> int:
    """Both of the gate's checks give `check_dial`'s answer; returns how many the fast path proved."""
    campaign = campaign_store.get(store.conn, "renewal")
    proved = 0
    for cid in ids:
        reference = check_dial(store.conn, campaign, cid, at)
        assert gate.check(cid, at) == reference, cid
        fast = gate.check_at(cid, (at - instant(0)) // US)
        if isinstance(fast, RunCheck):
            proved += 1
            assert fast.row_fields() == reference.row_fields(), cid
            fast = fast.as_check()
        assert fast == reference, cid
    return proved


@pytest.mark.parametrize("kind", ["marketing", "survey"])
@pytest.mark.parametrize("seed", range(6))
def test_the_gate_agrees_with_check_dial_on_random_states(
    store: Store, db_path: Path, kind: str, seed: int
) -> None:
    rng = random.Random(seed)
    add_campaign(store, kind=kind, cap_total=rng.choice([None, 3]), min_gap_s=rng.choice([None, 600]),
                 abandon_lock_s=rng.choice([0, 3600]))  # fmt: skip
    load_registry(store)
    zones = (("America/New_York",), ("America/Los_Angeles", "America/New_York"), ())
    ids = [add_contact(store, phone, zones=rng.choice(zones)) for phone in PHONES]
    with store.write() as conn:
        for _ in range(25):
            _random_record(conn, rng, rng.choice(PHONES))
    gate = Gate(store.conn, campaign_store.get(store.conn, "renewal"))
    gate.load(ids)
    for offset in (-5, 0, 1, 1800):
        _same(store, gate, ids, NOON_NY + timedelta(seconds=offset))
    # another process writes between two dials: the gate sees it at the next dial
    other = sqlite3.connect(db_path)
    with other:
        for _ in range(10):
            _random_record(other, rng, rng.choice(PHONES))
        other.execute("UPDATE campaigns SET paused = ? WHERE name = 'renewal'", (rng.random() < 0.3,))
    other.close()
    _same(store, gate, ids, NOON_NY + timedelta(seconds=2))
    # and so does a write through this same connection that the run did not report
    with store.write() as conn:
        for _ in range(10):
            _random_record(conn, rng, rng.choice(PHONES))
    _same(store, gate, ids, NOON_NY + timedelta(seconds=3))


def test_an_opt_out_by_another_process_blocks_the_next_dial(store: Store, db_path: Path) -> None:
    add_campaign(store, kind="survey")
    cid = add_contact(store)
    gate = Gate(store.conn, campaign_store.get(store.conn, "renewal"))
    gate.load([cid])
    assert gate.check(cid, NOON_NY).allowed
    other = sqlite3.connect(db_path)
    with other:
        at = to_iso(NOON_NY + timedelta(seconds=1))
        other.execute(
            "INSERT INTO optouts (phone, channel, requested_at, effective_at, actor) VALUES (?, 'call', ?, ?, 't')",
            ("+12125550123", at, at),
        )
    other.close()
    check = gate.check(cid, NOON_NY + timedelta(seconds=2))
    assert check.reasons == ("opted_out",) and gate.reloads == 1


def test_attempts_the_run_reports_count_without_a_reload(store: Store) -> None:
    add_campaign(store, kind="survey", cap_total=1)
    cid = add_contact(store)
    gate = Gate(store.conn, campaign_store.get(store.conn, "renewal"))
    gate.load([cid])
    assert gate.check(cid, NOON_NY).allowed
    before = store.conn.total_changes
    with store.write() as conn:
        started = to_iso(NOON_NY)
        conn.execute(
            "INSERT INTO attempts (campaign, campaign_version, phone, started_at, trunk, outcome) "
            "VALUES ('renewal', 1, ?, ?, 'mock', 'busy')",
            ("+12125550123", started),
        )
        gate.record_attempt("+12125550123", started, "busy")
    gate.mine(before)
    later = NOON_NY + timedelta(hours=1)
    assert gate.check(cid, later).reasons == ("cap_total",)
    assert gate.reloads == 0
    assert gate.check(cid, later) == check_dial(
        store.conn, campaign_store.get(store.conn, "renewal"), cid, later
    )


def test_an_unknown_contact_is_a_user_error(store: Store) -> None:
    add_campaign(store)
    gate = Gate(store.conn, campaign_store.get(store.conn, "renewal"))
    with pytest.raises(Exception, match="no contact with id 99"):
        gate.check(99, datetime(2026, 12, 1, tzinfo=UTC))


def test_the_fast_path_proves_the_common_dial_and_yields_to_any_record(store: Store, db_path: Path) -> None:
    add_campaign(store, kind="marketing", cap_total=3, min_gap_s=600)
    load_registry(store)
    ids = [add_contact(store, phone, zones=("America/Los_Angeles", "America/New_York")) for phone in PHONES]
    with store.write() as conn:
        for phone in PHONES[:6]:
            conn.execute(
                "INSERT INTO consents (phone, purpose, action, source, given_at, recorded_at, actor) "
                "VALUES (?, 'marketing', 'grant', 'web', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 't')",
                (phone,),
            )
    gate = Gate(store.conn, campaign_store.get(store.conn, "renewal"))
    gate.load(ids)
    assert _same(store, gate, ids, NOON_NY) == 6  # the six with consent
    other = sqlite3.connect(db_path)
    with other:  # another process opts one of them out: the next dial is refused, by the full check
        at = to_iso(NOON_NY)
        other.execute(
            "INSERT INTO optouts (phone, channel, requested_at, effective_at, actor) VALUES (?, 'call', ?, ?, 't')",
            (PHONES[0], at, at),
        )
    other.close()
    assert _same(store, gate, ids, NOON_NY + timedelta(seconds=1)) == 5
    assert gate.check_at(ids[0], (NOON_NY - instant(0)) // US + 1_000_000).reasons == ("opted_out",)


def test_every_commit_of_another_process_is_seen_at_the_next_dial(store: Store, db_path: Path) -> None:
    """The gate skips `PRAGMA data_version` while the WAL-index header is unchanged: each commit changes it."""
    add_campaign(store, kind="survey")
    ids = [add_contact(store, phone) for phone in PHONES]
    gate = Gate(store.conn, campaign_store.get(store.conn, "renewal"))
    assert gate._wal_view is not None  # WAL mode: the header is read, not the pragma
    gate.load(ids)
    other = sqlite3.connect(db_path, isolation_level=None)
    at = NOON_NY
    for n in range(0, len(PHONES), 2):
        at += timedelta(seconds=1)
        assert gate.check_at(ids[n], (at - instant(0)) // US).allowed
        assert gate.reloads == n // 2
        other.execute(  # the next number opts out, committed at once
            "INSERT INTO optouts (phone, channel, requested_at, effective_at, actor) VALUES (?, 'call', ?, ?, 't')",
            (PHONES[n + 1], to_iso(at), to_iso(at)),
        )
        assert gate.check_at(ids[n + 1], (at - instant(0)) // US + 1).reasons == ("opted_out",)
        assert gate.reloads == n // 2 + 1
    other.close()


def test_without_a_wal_the_gate_asks_the_pragma(tmp_path: Path) -> None:
    conn = sqlite3.connect(":memory:")
    assert wal_index_view(conn) is None
    plain = sqlite3.connect(tmp_path / "plain.db")
    plain.execute("CREATE TABLE t (x)")
    assert wal_index_view(plain) is None


def test_an_attempt_not_yet_written_counts_at_once_and_after_a_reload(store: Store, db_path: Path) -> None:
    add_campaign(store, kind="survey", cap_total=2)
    cid = add_contact(store)
    gate = Gate(store.conn, campaign_store.get(store.conn, "renewal"))
    gate.load([cid])
    us = (NOON_NY - instant(0)) // US
    gate.note_attempt("+12125550123", us, "busy")
    gate.note_attempt("+12125550123", us + 1_000_000, "busy")
    assert gate.check_at(cid, us + 3_600_000_000).reasons == ("cap_total",)
    other = sqlite3.connect(db_path)
    with other:  # another process commits something: the records are read again, the noted attempts stay
        other.execute("UPDATE contacts SET updated_at = '2026-12-01T00:00:00Z' WHERE id = ?", (cid,))
    other.close()
    assert gate.check_at(cid, us + 3_600_000_000).reasons == ("cap_total",) and gate.reloads == 1
    before = store.conn.total_changes
    with store.write() as conn:  # the run writes them, then says so: they are counted once
        for at in (us, us + 1_000_000):
            conn.execute(
                "INSERT INTO attempts (campaign, campaign_version, phone, started_at, trunk, outcome) "
                "VALUES ('renewal', 1, ?, ?, 'mock', 'busy')",
                ("+12125550123", to_iso(instant(at))),
            )
    gate.written()
    gate.mine(before)
    gate.forget("+12125550123")  # read again from the database
    later = NOON_NY + timedelta(hours=1)
    assert gate.check(cid, later) == check_dial(
        store.conn, campaign_store.get(store.conn, "renewal"), cid, later
    )
    assert gate.check(cid, later).reasons == ("cap_total",)


def test_a_dial_that_needs_check_dial_writes_the_noted_attempts_first(store: Store) -> None:
    add_campaign(store, kind="survey")
    cid = add_contact(store)
    flushed = []
    gate = Gate(store.conn, campaign_store.get(store.conn, "renewal"), flush=lambda: flushed.append(1))
    gate.load([cid])
    gate.note_attempt("+12125550123", (NOON_NY - instant(0)) // US, "busy")
    with store.write() as conn:
        conn.execute(
            "INSERT INTO optouts (phone, channel, requested_at, effective_at, actor) VALUES (?, 'call', ?, ?, 't')",
            ("+12125550123", to_iso(NOON_NY), to_iso(NOON_NY)),
        )
    gate.check(cid, NOON_NY + timedelta(hours=1), callback_requested=True)  # may lift the opt-out: check_dial
    assert flushed == [1]


class FakeWriter:
    """Stands in for the writer process: its commits go through a connection of their own, and one may be
    in flight (committed only once waited for, as the real one is acknowledged)."""

    def __init__(self, db_path: Path):
        self.conn = sqlite3.connect(db_path, isolation_level=None)
        self.conn.execute("CREATE TABLE IF NOT EXISTS writer_scratch (n INTEGER)")
        self.commits = 0
        self.in_flight = False

    def commit(self) -> None:
        self.conn.execute("INSERT INTO writer_scratch VALUES (1)")
        self.commits += 1

    def acked(self, wait: bool = False) -> int:
        if wait and self.in_flight:
            self.in_flight = False
            self.commit()
        return self.commits


def _opt_out(db_path: Path, at: datetime) -> None:
    other = sqlite3.connect(db_path)
    with other:
        other.execute(
            "INSERT INTO optouts (phone, channel, requested_at, effective_at, actor) VALUES (?, 'call', ?, ?, 't')",
            ("+12125550123", to_iso(at), to_iso(at)),
        )
    other.close()


def _gate_with_writer(store: Store, db_path: Path) -> tuple[Gate, int, FakeWriter]:
    """A gate with one contact loaded (allowed at noon in New York), and a stand-in writer attached."""
    add_campaign(store, kind="survey")
    cid = add_contact(store)
    writer = FakeWriter(db_path)  # its table is made first: not a commit the gate should notice
    gate = Gate(store.conn, campaign_store.get(store.conn, "renewal"))
    gate.load([cid])
    gate.attach_writer(writer.acked)
    return gate, cid, writer


def test_the_writer_processs_commits_keep_the_records_loaded(store: Store, db_path: Path) -> None:
    gate, cid, writer = _gate_with_writer(store, db_path)
    for second in range(1, 4):
        writer.commit()
        writer.in_flight = True  # and one more on its way, acknowledged when waited for
        assert gate.check(cid, NOON_NY + timedelta(seconds=second)).allowed
    assert gate.reloads == 0


def test_another_processs_commit_between_the_writers_is_seen_at_the_next_dial(
    store: Store, db_path: Path
) -> None:
    gate, cid, writer = _gate_with_writer(store, db_path)
    writer.commit()
    assert gate.check(cid, NOON_NY + timedelta(seconds=1)).allowed
    writer.commit()
    _opt_out(db_path, NOON_NY + timedelta(seconds=2))
    writer.commit()
    assert gate.check(cid, NOON_NY + timedelta(seconds=3)).reasons == ("opted_out",)


def test_another_processs_commit_before_the_writers_batch_in_flight_is_not_taken_for_it(
    store: Store, db_path: Path
) -> None:
    """The header counts one commit more than the writer acknowledged, and the writer has a batch in
    flight: that commit is someone else's if the writer's comes after it. Taking the header read before
    waiting as the writer's would let one dial through on the records from before the opt-out."""
    gate, cid, writer = _gate_with_writer(store, db_path)
    writer.in_flight = True
    _opt_out(db_path, NOON_NY + timedelta(seconds=1))
    assert gate.check(cid, NOON_NY + timedelta(seconds=2)).reasons == ("opted_out",)
