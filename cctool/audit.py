"""The hash-chained audit log: every change appends a row in the same transaction as the change.

Each row's hash is SHA-256 over a canonical JSON form of its fields and the previous row's hash, so an
edited, deleted or inserted row breaks the chain from that row on. `verify` recomputes it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
COLUMNS = ("seq", "ts", "actor", "command", "entity", "entity_id", "action", "payload", "prev_hash", "hash")


def canonical_payload(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def row_hash(row: dict[str, Any]) -> str:
    """SHA-256 of the row's fields (all but `hash`) in a fixed order."""
    fields = [row["seq"], row["ts"], row["actor"], row["command"], row["entity"], row["entity_id"]]
    fields += [row["action"], row["payload"], row["prev_hash"]]
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append(
    conn: sqlite3.Connection,
    *,
    ts: str,
    actor: str,
    command: str,
    entity: str,
    entity_id: str | int | None,
    action: str,
    payload: Any,
) -> dict[str, Any]:
    """Append one row. The caller holds a write transaction (BEGIN IMMEDIATE), so the head cannot move."""
    head = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
    row: dict[str, Any] = {
        "seq": seq,
        "ts": ts,
        "actor": actor,
        "command": command,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "action": action,
        "payload": canonical_payload(payload),
        "prev_hash": prev_hash,
    }
    row["hash"] = row_hash(row)
    conn.execute(
        f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [row[c] for c in COLUMNS],
    )
    conn.execute(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        (seq, row["hash"]),
    )
    return row


@dataclass(frozen=True)
class Verdict:
    ok: bool
    rows: int
    head_hash: str
    bad_seq: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head_hash": self.head_hash,
            "bad_seq": self.bad_seq,
            "problem": self.problem,
        }


def rows(conn: sqlite3.Connection, since: str | None = None) -> Iterator[dict[str, Any]]:
    sql = f"SELECT {', '.join(COLUMNS)} FROM audit_log"
    params: list[Any] = []
    if since:
        sql += " WHERE ts >= ?"
        params.append(since)
    for values in conn.execute(sql + " ORDER BY seq", params):
        yield dict(zip(COLUMNS, values, strict=True))


def verify(conn: sqlite3.Connection) -> Verdict:
    """Recompute the chain; name the first row that does not fit."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    for row in rows(conn):
        count += 1
        if row["seq"] != expected_seq:
            what = "missing" if row["seq"] > expected_seq else "out of order"
            return Verdict(False, count, prev_hash, expected_seq, f"row {expected_seq} is {what}")
        if row["prev_hash"] != prev_hash:
            return Verdict(
                False, count, prev_hash, row["seq"], f"row {row['seq']} does not follow its predecessor"
            )
        if row_hash(row) != row["hash"]:
            return Verdict(False, count, prev_hash, row["seq"], f"row {row['seq']} was altered")
        prev_hash, expected_seq = row["hash"], expected_seq + 1
    head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    last_seq = expected_seq - 1
    if (head or (0, GENESIS)) != (last_seq, prev_hash):
        head_seq = head[0] if head else 0
        return Verdict(
            False, count, prev_hash, last_seq + 1, f"log ends at row {last_seq}, head says {head_seq}"
        )
    return Verdict(True, count, prev_hash)
