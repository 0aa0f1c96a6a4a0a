"""Erasure reaches the service records: the person's free text goes, the tickets and callbacks stay."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from cctool.store import open_store

NOW = "2026-12-01T02:00:00Z"  # 10:00 in Shanghai, a Tuesday
WANG = "+8613800138003"
BOB = "+447911123456"
# Everything Wang Fang or an agent wrote about her; none of it may survive the erasure.
SECRETS = (
    "Wang Fang",
    "wang@example.com",
    "Lotus Road",
    "router still dead",
    "daughter Mei",
    "left a message with Mei",
    "Kettle refund",
)


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCTOOL_NOW", NOW)


def ok(result):
    assert result.code == 0, result.stderr
    return result.json if result.stdout.strip().startswith(("{", "[")) else result


def build(cli, tmp_path: Path) -> None:
    """Wang Fang with two tickets (a note, subject and body changes) and a callback with a note and a
    free-text outcome; Bob with a ticket of his own that must not be touched."""
    book = tmp_path / "book.csv"
    book.write_text(
        f"phone,name,email,city\n{WANG},Wang Fang,wang@example.com,Lotus Road 12\n{BOB},Bob Ray,,Leeds\n",
        encoding="utf-8",
    )
    ok(cli("contacts", "import", str(book), "--json"))
    ok(cli("ticket", "new", "--phone", WANG, "--kind", "complaint", "--subject", "Wang Fang: broadband down",
           "--body", "Lives at Lotus Road 12, router still dead", "--json"))  # fmt: skip
    ok(cli("ticket", "update", "1", "--status", "open", "--note", "Spoke to her daughter Mei", "--json"))
    ok(cli("ticket", "update", "1", "--set", "subject=Wang Fang: router still dead",
           "--set", "body=Technician for Lotus Road booked", "--set", "priority=high", "--json"))  # fmt: skip
    ok(cli("ticket", "new", "--phone", WANG, "--kind", "return", "--subject", "Kettle refund", "--json"))
    ok(cli("callback", "schedule", WANG, "--at", "2026-12-01T15:00", "--ticket", "2",
           "--note", "ask for daughter Mei", "--json"))  # fmt: skip
    ok(cli("callback", "done", "1", "--outcome", "left a message with Mei", "--json"))
    ok(
        cli(
            "ticket",
            "new",
            "--phone",
            BOB,
            "--kind",
            "inquiry",
            "--subject",
            "Bob asks about roaming",
            "--json",
        )
    )


def text_hits(db_path: Path, needle: str) -> list[str]:
    """Every table.column whose text holds `needle` (case-insensitive), over every table of the file."""
    conn = sqlite3.connect(db_path)
    hits = []
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for column in [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]:
            query = (
                f'SELECT COUNT(*) FROM "{table}" WHERE instr(lower(CAST("{column}" AS TEXT)), lower(?)) > 0'
            )
            if conn.execute(query, (needle,)).fetchone()[0]:
                hits.append(f"{table}.{column}")
    conn.close()
    return hits


def file_bytes(db_path: Path) -> bytes:
    """The bytes of the database file and its WAL after a checkpoint (no VACUUM: free space counts too)."""
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    wal = db_path.with_name(db_path.name + "-wal")
    return db_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_erasure_leaves_no_free_text_of_the_person_anywhere_in_the_database(
    cli, tmp_path: Path, db_path: Path
) -> None:
    build(cli, tmp_path)
    before = {secret: text_hits(db_path, secret) for secret in SECRETS}
    assert all(before.values()), before  # the story really wrote them
    result = ok(cli("contacts", "erase", WANG, "--json"))
    assert result["already_erased"] is False
    assert result["redacted"] == {"tickets": 2, "ticket_events": 7, "callbacks": 1}
    assert {secret: text_hits(db_path, secret) for secret in SECRETS} == {s: [] for s in SECRETS}
    data = file_bytes(db_path)
    assert [s for s in SECRETS if s.encode() in data] == []
    assert b"Bob asks about roaming" in data  # someone else's ticket is untouched


def test_the_records_stay_counted_and_readable_after_erasure(cli, tmp_path: Path, db_path: Path) -> None:
    build(cli, tmp_path)
    history_before = ok(cli("ticket", "show", "1", "--json"))["events"]
    ok(cli("contacts", "erase", WANG, "--json"))
    listed = ok(cli("ticket", "list", "--json"))
    assert [(t["id"], t["kind"], t["status"], t["priority"]) for t in listed] == [
        (1, "complaint", "open", "high"),
        (2, "return", "new", "normal"),
        (3, "inquiry", "new", "normal"),
    ]
    assert [t["subject"] for t in listed] == ["[erased]", "[erased]", "Bob asks about roaming"]
    shown = ok(cli("ticket", "show", "1", "--json"))
    assert shown["body"] is None and shown["sla_due_at"] and shown["created_at"] == NOW
    events = shown["events"]
    # the same events, in the same order, with the same kinds, times and actors; codes untouched
    keys = ("id", "at", "actor", "event", "field", "ref")
    assert [[e[k] for k in keys] for e in events] == [[e[k] for k in keys] for e in history_before]
    status = next(e for e in events if e["event"] == "status")
    assert (status["old_value"], status["new_value"]) == ("new", "open")
    priority = next(e for e in events if e["field"] == "priority")
    assert (priority["old_value"], priority["new_value"]) == ("normal", "high")
    subject = next(e for e in events if e["field"] == "subject")
    assert (subject["old_value"], subject["new_value"]) == ("[erased]", "[erased]")
    body = next(e for e in events if e["field"] == "body")
    assert (body["old_value"], body["new_value"]) == ("[erased]", "[erased]")
    callback = ok(cli("callback", "list", "--json"))[0]
    assert (callback["status"], callback["note"], callback["outcome"]) == ("done", None, "[erased]")
    human = cli("ticket", "show", "1")
    assert human.code == 0 and "[erased]" in human.stdout


def test_a_callback_outcome_that_is_a_code_is_kept(cli, tmp_path: Path) -> None:
    build(cli, tmp_path)
    ok(cli("callback", "schedule", WANG, "--at", "2026-12-02T15:00", "--json"))
    ok(cli("callback", "done", "2", "--outcome", "no_answer", "--json"))
    ok(cli("contacts", "erase", WANG, "--json"))
    outcomes = {c["id"]: c["outcome"] for c in ok(cli("callback", "list", "--json"))}
    assert outcomes == {1: "[erased]", 2: "no_answer"}


def test_the_audit_row_says_what_was_redacted_and_the_chain_holds(cli, tmp_path: Path) -> None:
    build(cli, tmp_path)
    ok(cli("contacts", "erase", WANG, "--json"))
    row = ok(cli("audit", "log", "--json"))[-1]
    assert row["action"] == "contacts.erase"
    payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
    assert payload["redacted"] == {"tickets": 2, "ticket_events": 7, "callbacks": 1}
    assert "not scrubbed" not in json.dumps(payload)
    verify = cli("audit", "verify")
    assert verify.code == 0, verify.stderr


def test_erasing_again_changes_nothing_and_says_so(cli, tmp_path: Path, db_path: Path) -> None:
    build(cli, tmp_path)
    ok(cli("contacts", "erase", WANG, "--json"))
    audit_rows = len(ok(cli("audit", "log", "--json")))
    again = ok(cli("contacts", "erase", WANG, "--json"))
    assert again["already_erased"] is True
    assert again["redacted"] == {"tickets": 0, "ticket_events": 0, "callbacks": 0}
    assert len(ok(cli("audit", "log", "--json"))) == audit_rows
    assert "already erased" in cli("contacts", "erase", WANG).stdout


def test_a_new_call_after_erasure_is_logged_and_a_second_erase_redacts_it(
    cli, tmp_path: Path, db_path: Path
) -> None:
    build(cli, tmp_path)
    ok(cli("contacts", "erase", WANG, "--json"))
    ticket = ok(cli("ticket", "new", "--phone", WANG, "--kind", "inquiry", "--subject", "Wang Fang again",
                    "--json"))  # fmt: skip
    assert ticket["subject"] == "Wang Fang again"
    ok(cli("callback", "schedule", WANG, "--at", "2026-12-02T15:00", "--ticket", str(ticket["id"]),
           "--note", "call Wang Fang back", "--json"))  # fmt: skip
    conn = sqlite3.connect(db_path)
    contact = conn.execute("SELECT id, name, erased_at FROM contacts WHERE phone = ?", (WANG,)).fetchone()
    assert contact[0] == ticket["contact_id"]
    assert contact[1] is None and contact[2]  # the contact stays erased and suppressed
    assert WANG not in [c["phone"] for c in ok(cli("contacts", "list", "--json"))]
    again = ok(cli("contacts", "erase", WANG, "--json"))
    assert again["already_erased"] is True
    assert again["redacted"] == {"tickets": 1, "ticket_events": 2, "callbacks": 1}
    assert text_hits(db_path, "Wang Fang") == []
    assert cli("audit", "verify").code == 0


def test_ticket_events_stay_append_only_apart_from_the_redaction(cli, tmp_path: Path, db_path: Path) -> None:
    build(cli, tmp_path)
    conn = sqlite3.connect(db_path, isolation_level=None)
    refused = [
        "UPDATE ticket_events SET note = 'rewritten' WHERE ticket_id = 1 AND event = 'note'",
        "UPDATE ticket_events SET note = '[erased]' WHERE ticket_id = 1 AND event = 'note'",  # not erased yet
        "DELETE FROM ticket_events WHERE ticket_id = 1",
    ]
    for statement in refused:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
    ok(cli("contacts", "erase", WANG, "--json"))
    refused_after = [
        "UPDATE ticket_events SET note = 'rewritten' WHERE ticket_id = 1 AND event = 'note'",
        "UPDATE ticket_events SET new_value = '[erased]' WHERE ticket_id = 1 AND field = 'status'",
        "UPDATE ticket_events SET at = '2020-01-01T00:00:00Z' WHERE ticket_id = 1",
        "UPDATE ticket_events SET event = 'note' WHERE ticket_id = 1 AND event = 'status'",
        "UPDATE ticket_events SET note = '[erased]' WHERE ticket_id = 3",  # Bob is not erased
        "DELETE FROM ticket_events WHERE ticket_id = 1",
    ]
    for statement in refused_after:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)


def test_the_audit_export_still_lists_the_erased_persons_tickets(cli, tmp_path: Path) -> None:
    build(cli, tmp_path)
    ok(cli("contacts", "erase", WANG, "--json"))
    out = tmp_path / "audit"
    result = cli("audit", "export", "--from", "2000-01-01", "--to", "2999-12-31", "--out", str(out))
    assert result.code == 0, result.stderr
    with (out / "tickets.csv").open(encoding="utf-8") as handle:
        tickets = list(csv.DictReader(handle))
    assert [t["ticket_id"] for t in tickets] == ["1", "2", "3"]
    assert [t["subject"] for t in tickets][:2] == ["[erased]", "[erased]"]
    assert all(WANG not in t["phone"] for t in tickets)  # masked
    with (out / "ticket_events.csv").open(encoding="utf-8") as handle:
        events = list(csv.DictReader(handle))
    assert len([e for e in events if e["ticket_id"] in ("1", "2")]) >= 8
    exported = "".join(p.read_text(encoding="utf-8", errors="replace") for p in out.iterdir() if p.is_file())
    assert [s for s in SECRETS if s in exported] == []


def test_the_audit_log_never_holds_ticket_or_callback_free_text(cli, tmp_path: Path) -> None:
    """The hash chain can never be edited, so what people wrote must not go into it in the first place."""
    build(cli, tmp_path)
    log = ok(cli("audit", "log", "--json"))
    assert [s for s in SECRETS if s in json.dumps(log, ensure_ascii=False)] == []
    note = next(r for r in log if r["entity"] == "ticket" and r["action"] == "note")
    payload = note["payload"] if isinstance(note["payload"], dict) else json.loads(note["payload"])
    assert payload == {"note_chars": len("Spoke to her daughter Mei")}
    done = next(r for r in log if r["entity"] == "callback" and r["action"] == "done")
    payload = done["payload"] if isinstance(done["payload"], dict) else json.loads(done["payload"])
    assert payload["outcome_chars"] == len("left a message with Mei")


def test_audit_rows_from_before_0010_that_quote_text_are_counted_not_edited(
    cli, tmp_path: Path, db_path: Path
) -> None:
    """An older database logged ticket notes in the audit chain; the erase keeps them and says how many."""
    build(cli, tmp_path)
    older = open_store(db_path, actor="tester", command="test")
    with older.write():
        older.audit("ticket", 1, "note", {"note": "Wang Fang, written the old way"})
        older.audit("callback", 1, "done", {"outcome": "spoke to Wang Fang"})
    older.close()
    ok(cli("contacts", "erase", WANG, "--json"))
    row = ok(cli("audit", "log", "--json"))[-1]
    payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
    assert "2 row(s)" in payload["kept"]["audit_log"]
    assert cli("audit", "verify").code == 0
