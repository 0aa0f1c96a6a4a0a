"""The bulk path of `contacts import`: blocks staged in throw-away SQLite files, applied with SQL.

New contacts must get ids in file order (a row naming a number already known leaves its id unused, as a
database sequence does on a conflict), and each new contact exactly its own tags and
consent, even when a block mixes new numbers, numbers already in the book and repeats; the staging
files must be gone afterwards, whatever happened.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest

from cctool import contacts_import, csvread
from cctool.contacts_import import import_contacts
from cctool.store import open_store

from .contacts_helpers import write


@pytest.fixture
def many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvread, "BLOCK_CHARS", 64)  # a few rows a block: the file is cut into MAX_BLOCKS


@pytest.fixture
def staging_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def _book(db: Path) -> dict[str, tuple[int, str | None, tuple[str, ...], tuple[str, ...]]]:
    """phone -> (id, name, tags, consent actions in order)."""
    conn = sqlite3.connect(db)
    found = {}
    for contact_id, phone, name in conn.execute("SELECT id, phone, name FROM contacts ORDER BY id"):
        tags = tuple(
            r[0]
            for r in conn.execute(
                "SELECT tag FROM contact_tags WHERE contact_id = ? ORDER BY tag", (contact_id,)
            )
        )
        consent = tuple(
            r[0] for r in conn.execute("SELECT action FROM consents WHERE phone = ? ORDER BY id", (phone,))
        )
        found[phone] = (contact_id, name, tags, consent)
    conn.close()
    return found


@pytest.mark.parametrize("workers", ["0", "2"])
def test_new_numbers_mixed_with_known_ones_and_repeats_get_ids_in_file_order_and_their_own_tags(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, many_blocks: None, workers: str
) -> None:
    monkeypatch.setenv("CCTOOL_IMPORT_WORKERS", workers)
    monkeypatch.setattr(contacts_import, "PARALLEL_MIN_CHARS", 0)
    store = open_store(db_path, actor="tester")
    import_contacts(
        store, write(tmp_path / "a.csv", "phone,name,tags\n+12125550100,Known A,old\n+12125550101,Known B,\n")
    )
    lines = ["phone,name,tags,consent"]
    expected: dict[str, tuple[str, set[str], list[str]]] = {}
    order: list[str] = []
    for n in range(60):
        phone = f"+1212555{1000 + n:04d}"
        lines.append(f"{phone},New {n},n{n},{'yes' if n % 2 else 'no'}")
        expected[phone] = (f"New {n}", {f"n{n}"}, ["grant" if n % 2 else "revoke"])
        order.append(phone)
        if n % 7 == 3:  # a number already in the book, between new ones
            lines.append(f"+12125550100,,k{n},")
        if n % 5 == 4:  # a repeat of an earlier new number: its tag is added, its consent flips
            earlier = order[n // 2]
            lines.append(f"{earlier},,r{n},{'no' if expected[earlier][2][-1] == 'grant' else 'yes'}")
            name, tags, consent = expected[earlier]
            expected[earlier] = (
                name,
                tags | {f"r{n}"},
                consent + ["revoke" if consent[-1] == "grant" else "grant"],
            )
    result = import_contacts(store, write(tmp_path / "b.csv", "\n".join(lines) + "\n"))
    store.close()
    assert result.counts["imported"] == 60
    book = _book(db_path)
    # file order, after the two known: row n of the file (1-based) would make contact 2 + n
    rows = [line.split(",")[0] for line in lines[1:]]
    assert [book[p][0] for p in order] == [2 + rows.index(p) + 1 for p in order]
    assert [book[p][0] for p in order] == sorted(book[p][0] for p in order)
    for phone, (name, tags, consent) in expected.items():
        assert book[phone][1:] == (name, tuple(sorted(tags)), tuple(consent)), phone
    known = {f"k{n}" for n in range(60) if n % 7 == 3} | {"old"}
    assert book["+12125550100"] == (1, "Known A", tuple(sorted(known)), ())


def test_the_staging_files_are_removed_after_an_import_a_dry_run_and_a_failure(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, many_blocks: None, staging_root: Path
) -> None:
    rows = "".join(f"+1212555{n:04d},Person {n},t\n" for n in range(1000, 1300))
    path = write(tmp_path / "c.csv", "phone,name,tags\n" + rows)
    store = open_store(db_path, actor="tester")
    import_contacts(store, path, dry_run=True)
    assert list(staging_root.iterdir()) == []
    real_insert = contacts_import.insert_contacts

    def failing(conn, block, first_id):
        real_insert(conn, block, first_id)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(contacts_import, "insert_contacts", failing)
    with pytest.raises(RuntimeError):
        import_contacts(store, path)
    assert list(staging_root.iterdir()) == []
    monkeypatch.setattr(contacts_import, "insert_contacts", real_insert)
    assert import_contacts(store, path).counts["imported"] == 300
    assert list(staging_root.iterdir()) == []
    assert [r[1] for r in store.conn.execute("PRAGMA database_list")] == ["main"]
    store.close()
