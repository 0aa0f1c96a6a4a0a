"""The database file: creation, pragmas, migrations, and refusing what it cannot trust."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from cctool import store as store_mod
from cctool.store import open_store

from .conftest import run_process


def test_a_new_database_is_private_to_its_owner(cli, db_path: Path) -> None:
    assert cli("init").code == 0
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600


def test_database_runs_in_wal_mode_with_foreign_keys(store) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_db_status_reports_every_applied_migration(cli) -> None:
    cli("init")
    status = cli("db", "status", "--json").json
    files = [p.stem for p in store_mod.migration_files()]
    assert status["applied"] == files
    assert status["pending"] == []
    assert status["schema_version"] == int(files[-1][:4])


def first_migration_only(db_path: Path) -> list[str]:
    """A database as an older cctool left it: only the first migration applied. Returns the others."""
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    first, *rest = store_mod.migration_files()
    migrations = Migrations(store_mod.MIGRATION_SET)

    @migrations(name=first.stem)
    def run(db: Database) -> None:
        for statement in store_mod._statements(first.read_text(encoding="utf-8")):
            db.conn.execute(statement)

    migrations.apply(Database(db_path))
    return [p.stem for p in rest]


def test_db_status_shows_pending_migrations_without_applying_them(cli, db_path: Path) -> None:
    later = first_migration_only(db_path)
    status = cli("db", "status", "--json").json
    assert status["applied"] == [store_mod.migration_files()[0].stem]
    assert status["pending"] == later
    assert cli("db", "status", "--json").json["pending"] == later


def test_any_command_applies_pending_migrations_first(cli, db_path: Path) -> None:
    later = first_migration_only(db_path)
    result = cli("audit", "log", "--json")
    assert result.code == 0
    assert cli("db", "status", "--json").json["pending"] == []
    assert json.loads(cli("audit", "log", "--json").json[-1]["payload"]) == {"applied": later}


def test_a_database_newer_than_the_code_is_refused(cli, db_path: Path) -> None:
    cli("init")
    conn = sqlite3.connect(db_path)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('cctool', '9999_future', 'x')"
    )
    conn.commit()
    conn.close()
    result = cli("audit", "log")
    assert result.code == 1
    assert "newer than this cctool" in result.stderr
    assert "upgrade cctool" in result.stderr


def test_a_file_that_is_not_a_database_is_refused_in_one_line(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are my notes\n" * 100)
    result = run_process("--db", str(bogus), "init")
    assert result.code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(bogus) in result.stderr
    assert bogus.read_text().startswith("these are my notes")


def test_db_path_comes_from_the_environment_when_not_given(tmp_path: Path) -> None:
    env = {**os.environ, "CCTOOL_DB": str(tmp_path / "env.db")}
    assert run_process("init", env=env).code == 0
    assert (tmp_path / "env.db").exists()


def test_a_failed_write_leaves_the_database_as_it_was(store) -> None:
    before = store.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    try:
        with store.write():
            store.audit("contact", 1, "test", {})
            raise RuntimeError("crash in the middle")
    except RuntimeError:
        pass
    assert store.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == before


def test_migrating_twice_applies_nothing_the_second_time(db_path: Path) -> None:
    first = open_store(db_path)
    first.close()
    second = open_store(db_path, migrate=False)
    assert second.migrate() == []
    second.close()


def test_usage_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    result = run_process("--db", str(tmp_path / "x.db"), "no-such-command")
    assert result.code == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_as_is_a_usage_error_and_writes_nothing(cli, db_path, blank) -> None:
    """`--as "   "` wrote an audit row whose actor was three spaces: who opted the number out? nobody."""
    cli("init")
    refused = cli("--as", blank, "optout", "+14155550123")
    assert (
        refused.code == 2
        and refused.stderr.strip() == "cctool: --as needs a name (who is acting, e.g. --as amy)"
    )
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM optouts").fetchone()[0] == 0
    assert cli("--as", " amy ", "--json", "optout", "+14155550123").json["actor"] == "amy"
