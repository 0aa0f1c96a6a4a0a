"""Files written for the user (an export, an import's rejects) at a path that cannot take them: one line
naming the option and the folder, exit 1, nothing imported, no `.tmp` left behind."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

CRM = "phone,name\n+14155550123,Ann\nnot a number,Bob\n"


def _count(db_path: Path, table: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.mark.parametrize("where", ["missing/rejects.csv", "."])
def test_rejects_to_a_missing_folder_or_a_folder_is_refused_before_importing(cli, tmp_path, db_path, where):
    crm = tmp_path / "crm.csv"
    crm.write_text(CRM, encoding="utf-8")
    cli("init")
    target = tmp_path / where
    refused = cli("contacts", "import", crm, "--rejects", target)
    assert refused.code == 1, refused.stderr
    assert refused.stderr.startswith("cctool: --rejects ") and len(refused.stderr.strip().splitlines()) == 1
    assert _count(db_path, "contacts") == 0 and _count(db_path, "imports") == 0
    assert not list(tmp_path.rglob("*.tmp")) and not (tmp_path.parent / f"{tmp_path.name}.tmp").exists()


@pytest.mark.parametrize("where", ["missing/contacts.csv", "."])
def test_export_to_a_missing_folder_or_a_folder_is_one_line(cli, tmp_path, where):
    crm = tmp_path / "crm.csv"
    crm.write_text(CRM, encoding="utf-8")
    cli("contacts", "import", crm)
    refused = cli("contacts", "export", "--out", tmp_path / where)
    assert refused.code == 1
    assert refused.stderr.startswith("cctool: --out ") and "Traceback" not in refused.stderr
    assert not list(tmp_path.rglob("*.tmp"))


def test_export_to_a_file_still_writes_it_whole(cli, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text(CRM, encoding="utf-8")
    cli("contacts", "import", crm)
    done = cli("--json", "contacts", "export", "--out", tmp_path / "out.csv")
    assert done.json == {"exported": 1, "file": str(tmp_path / "out.csv")}
    assert (
        (tmp_path / "out.csv").read_text(encoding="utf-8-sig").splitlines()[1].startswith("+14155550123,Ann")
    )
