"""Helpers for the contacts tests: writing real files and photographing the database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

TABLES = ("contacts", "contact_tags", "consents", "suppressions", "imports", "audit_log")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def snapshot(db_path: Path, tables: tuple[str, ...] = TABLES) -> dict[str, list[tuple]]:
    """Every row of the tables an import touches, for 'nothing changed' assertions."""
    conn = sqlite3.connect(db_path)
    try:
        return {t: sorted(map(tuple, conn.execute(f"SELECT * FROM {t}")), key=repr) for t in tables}
    finally:
        conn.close()


def people(db_path: Path) -> dict[str, list[tuple]]:
    """The people data only (not the import log and audit rows, which record every run)."""
    return snapshot(db_path, ("contacts", "contact_tags", "consents", "suppressions"))
