"""Which commands may start a database at a path where there is none.

Only `init` and the imports that bring a team's first data in create one. On a mistyped --db (or
$CCTOOL_DB) every other command names the missing file and creates nothing: before, an opt-out or a
do-not-call entry went into a new, empty database while the real one kept dialing the number, and cron's
`callback due` or an auditor's `audit verify` described an empty database as all is well."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from cctool.cli import main

from .conftest import run_process

REPO = Path(__file__).resolve().parent.parent

NEEDS_A_DATABASE = [
    ["optout", "+12025550143"],
    ["dnc", "add", "+12025550143"],
    ["dnc", "check", "+12025550143"],
    ["consent", "show", "+12025550143"],
    ["contacts", "list"],
    ["contacts", "show", "1"],
    ["ticket", "new", "--kind", "inquiry", "--phone", "+12025550143", "--subject", "where is my order"],
    ["ticket", "list"],
    ["callback", "schedule", "+12025550143", "--at", "2026-12-02T10:00"],
    ["callback", "due", "--json"],
    ["callback", "list"],
    ["campaign", "list"],
    ["script", "render", "survey", "--phone", "+12025550143"],
    ["dial", "run", "survey"],
    ["dial", "status", "survey"],
    ["report", "campaign", "survey"],
    ["audit", "verify"],
    ["audit", "verify", "--json"],
    ["audit", "log"],
    ["audit", "export", "--from", "2026-01-01", "--to", "2026-12-31", "--out", "auditfolder"],
    ["db", "status"],
]


@pytest.mark.parametrize("args", NEEDS_A_DATABASE, ids=" ".join)
@pytest.mark.parametrize("given", ["missing", "empty"])
def test_a_command_on_a_missing_or_empty_database_names_it_and_creates_nothing(
    args: list[str],
    given: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An empty file (`touch cctool.db`, or a file emptied by mistake) was quietly given the whole schema
    by an opt-out, as a missing one had been before."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / ("typo.db" if given == "missing" else "empty.db")
    if given == "empty":
        path.write_bytes(b"")
    assert main(["--db", str(path), *args]) == 1
    why = (
        "does not exist: check --db (or $CCTOOL_DB)"
        if given == "missing"
        else "is empty (no cctool tables): check --db (or $CCTOOL_DB)"
    )
    assert capsys.readouterr().err.strip().splitlines() == [
        f"cctool: database {path} {why}, or create it with `cctool init`"
    ]
    # no database, no -wal, no export folder; the empty file as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if given == "missing" else ["empty.db"])
    assert given == "missing" or path.read_bytes() == b""


def test_the_environment_path_is_checked_the_same_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCTOOL_DB", str(tmp_path / "typo.db"))
    assert main(["optout", "+12025550143"]) == 1
    assert "typo.db does not exist" in capsys.readouterr().err
    assert not (tmp_path / "typo.db").exists()


def test_init_and_the_first_imports_start_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("name,phone,region\nAda,+12025550143,US\n")
    registry = tmp_path / "registry.txt"
    registry.write_text("2025550100\n")
    campaign = REPO / "campaigns" / "renewal-us.yaml"
    starts = {
        "init": ["init"],
        "contacts import": ["contacts", "import", str(contacts)],
        "dnc import": [
            "dnc",
            "import",
            str(registry),
            "--list",
            "national",
            "--version",
            "2026-11-01",
            "--region",
            "US",
        ],
        "campaign load": ["campaign", "load", str(campaign)],
    }
    for name, args in starts.items():
        db = tmp_path / f"{name.replace(' ', '_')}.db"
        assert main(["--db", str(db), *args]) == 0, (name, capsys.readouterr().err)
        assert db.exists(), name
        # and the database it started is one every other command now accepts
        assert main(["--db", str(db), "audit", "verify"]) == 0, name


def test_a_first_import_that_fails_leaves_no_database_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad first file is an error and nothing else: no empty database left at the path to be mistaken
    for the team's (the next command would then accept it)."""
    registry = tmp_path / "registry.txt"
    registry.write_text("not a number\n")
    db = tmp_path / "new.db"
    assert (
        main(["--db", str(db), "dnc", "import", str(registry), "--list", "national", "--version", "v1"]) == 1
    )
    assert "has no valid numbers" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.txt"]


def test_a_dry_run_of_a_first_import_leaves_no_database_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--dry-run` writes nothing: checking a CRM export before the team has a database counts its rows
    and leaves no new database at the path."""
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("name,phone,region\nAda,+12025550143,US\nBob,not a number,US\n")
    db = tmp_path / "new.db"
    assert main(["--db", str(db), "--json", "contacts", "import", str(contacts), "--dry-run"]) == 0
    assert '"rejected": 1' in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contacts.csv"]


@pytest.mark.parametrize("args", [["init"], ["optout", "+12025550143"], ["contacts", "list"]], ids=" ".join)
def test_another_applications_database_is_left_as_it_was(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "crm.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, phone TEXT)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    assert main(["--db", str(other), *args]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"cctool: database {other} holds another application's tables (customers), not cctool's: "
        "point --db at a cctool database, or at a new file"
    ]
    assert other.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["crm.sqlite"]


def test_a_damaged_database_is_named_as_the_users_own_not_another_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cc.db"
    assert main(["--db", str(db), "init"]) == 0
    data = bytearray(db.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)  # every page after the first overwritten
    db.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["--db", str(db), "optout", "+12025550143"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"cctool: database {db} is damaged (")
    assert "restore it from a backup" in err[0]


@pytest.mark.parametrize("value", ["60s", "2m", "5", "0.5"])
def test_the_busy_timeout_takes_seconds_or_a_duration(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CCTOOL_BUSY_TIMEOUT", value)
    assert main(["--db", str(tmp_path / "cc.db"), "init"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("value", ["abc", "1e309", "-5", "99999999"])
def test_a_bad_busy_timeout_is_one_line_naming_the_variable(value: str, tmp_path: Path) -> None:
    """`CCTOOL_BUSY_TIMEOUT=abc` was a traceback in every command, `--version` included (read at import)."""
    env = {**os.environ, "CCTOOL_BUSY_TIMEOUT": value}
    assert run_process("--version", env=env).code == 0
    result = run_process("--db", str(tmp_path / "cc.db"), "init", env=env)
    assert result.code == 1
    assert result.stderr.splitlines() == [
        f"cctool: CCTOOL_BUSY_TIMEOUT={value!r}: give seconds from 0 to 86400, or a duration such as 90s or 2m"
    ]


def test_reading_commands_are_not_kept_waiting_by_another_processs_write(tmp_path: Path) -> None:
    """Every command took the write lock to check the schema: a report or `audit verify` waited out the
    busy timeout behind any writer, though SQLite's WAL lets them read."""
    db = tmp_path / "cc.db"
    assert run_process("--db", str(db), "init").code == 0
    env = {**os.environ, "CCTOOL_BUSY_TIMEOUT": "1"}
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        for args in (["audit", "verify"], ["contacts", "list"], ["campaign", "list"]):
            result = run_process("--db", str(db), *args, env=env)
            assert result.code == 0, (args, result.stderr)
        write = run_process("--db", str(db), "optout", "+12025550143", env=env)
        assert write.code == 1
        assert write.stderr == (
            f"cctool: database {db} is busy (database is locked): try again when the other run has finished\n"
        )
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.parametrize(
    ("sqlite_says", "line"),
    [
        ("attempt to write a readonly database", "cannot be written (attempt to write a readonly database)"),
        ("database disk image is malformed", "is damaged or unreadable (database disk image is malformed)"),
        ("database or disk is full", "cannot grow (database or disk is full): free some disk space"),
        ("database is locked", "is busy (database is locked): try again when the other run has finished"),
    ],
)
def test_what_sqlite_says_of_the_file_during_a_command_is_one_line(
    sqlite_says: str,
    line: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read-only file (not root's), a page damaged mid-file or a full disk met by a write was a
    traceback of some 40 lines; an error of cctool's own SQL still is one (a bug, to be reported)."""
    from cctool import optout

    db = tmp_path / "cc.db"
    assert main(["--db", str(db), "init"]) == 0

    said = [sqlite_says]

    def fails(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError(said[0])

    monkeypatch.setattr(optout, "record", fails)
    capsys.readouterr()
    assert main(["--db", str(db), "optout", "+12025550143"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"cctool: database {db} {line}")
    said[0] = "no such column: phnoe"
    with pytest.raises(sqlite3.OperationalError, match="no such column"):
        main(["--db", str(db), "optout", "+12025550143"])
