"""The audit chain: every change leaves a row, and tampering of any kind is found."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cctool import audit


def _changes(store, n: int) -> None:
    for i in range(n):
        with store.write():
            store.audit("contact", i, "update", {"field": "name", "value": f"v{i}"})


def _tamper(db_path: Path, *statements: str) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


def test_an_untouched_chain_verifies(cli, store) -> None:
    _changes(store, 5)
    result = cli("audit", "verify", "--json")
    assert result.code == 0
    assert result.json["ok"] is True and result.json["rows"] == 6  # 5 changes + the migration


def test_each_row_links_to_the_previous_hash(store) -> None:
    _changes(store, 3)
    rows = list(audit.rows(store.conn))
    assert rows[0]["prev_hash"] == audit.GENESIS
    for before, after in zip(rows, rows[1:]):
        assert after["prev_hash"] == before["hash"]


def test_the_log_refuses_plain_updates_and_deletes(store) -> None:
    _changes(store, 1)
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute("UPDATE audit_log SET actor = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute("DELETE FROM audit_log")


@pytest.mark.parametrize(
    ("statement", "bad_seq"),
    [
        ('UPDATE audit_log SET payload = \'{"field":"name","value":"forged"}\' WHERE seq = 3', 3),
        ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", 2),
        ("DELETE FROM audit_log WHERE seq = 4", 4),
        ("UPDATE audit_log SET seq = seq + 100 WHERE seq = 6", 6),
    ],
)
def test_an_edited_or_deleted_row_breaks_the_chain_at_that_row(
    cli, store, db_path, statement, bad_seq
) -> None:
    _changes(store, 5)
    store.close()
    _tamper(db_path, statement)
    result = cli("audit", "verify")
    assert result.code == 3
    assert f"row {bad_seq}" in result.stderr


def test_an_inserted_row_is_found(cli, store, db_path) -> None:
    _changes(store, 3)
    store.close()
    _tamper(
        db_path,
        "UPDATE audit_log SET seq = -seq WHERE seq >= 3",
        "UPDATE audit_log SET seq = 1 - seq WHERE seq < 0",
        "INSERT INTO audit_log SELECT 3, ts, actor, command, entity, entity_id, 'forged', payload, prev_hash, hash "
        "FROM audit_log WHERE seq = 2",
    )
    result = cli("audit", "verify", "--json")
    assert result.code == 3
    assert result.json["bad_seq"] == 3


def test_cutting_rows_off_the_end_is_found(cli, store, db_path) -> None:
    _changes(store, 4)
    store.close()
    _tamper(db_path, "DELETE FROM audit_log WHERE seq >= 4")
    result = cli("audit", "verify")
    assert result.code == 3
    assert "head says 5" in result.stderr


def test_audit_log_reads_rows_since_a_time(cli, store) -> None:
    _changes(store, 2)
    rows = cli("audit", "log", "--json").json
    assert [r["seq"] for r in rows] == [1, 2, 3]
    later = cli("audit", "log", "--since", "2999-01-01", "--json").json
    assert later == []


def test_actor_comes_from_as_option_then_environment(cli, monkeypatch, db_path) -> None:
    cli("--as", "alice", "init")
    assert cli("audit", "log", "--json").json[-1]["actor"] == "alice"
