"""Do-not-call lists: the national registry snapshot and its history, the internal list, dnc check."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from cctool import dnc
from cctool.errors import UserError
from cctool.timeutil import utcnow

from .conftest import run_process


def registry(tmp_path: Path, *lines: str, name: str = "national.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def national_numbers(db_path: Path) -> set[str]:
    conn = sqlite3.connect(db_path)
    try:
        return {r[0] for r in conn.execute("SELECT phone FROM dnc_national")}
    finally:
        conn.close()


def test_a_registry_copy_is_loaded_normalised_with_invalid_lines_reported(cli, tmp_path: Path) -> None:
    path = registry(
        tmp_path, "+12125550123", "(212) 555-0142", "2125550187", "junk", "+1 555", "+12125550123"
    )
    result = cli(
        "dnc", "import", path, "--list", "national", "--version", "2026-11", "--region", "US", "--json"
    )
    assert result.code == 0, result.stderr
    summary = result.json
    assert summary["count"] == 3
    assert summary["invalid"] == 2
    assert summary["duplicates"] == 1
    assert summary["invalid_examples"] == ["junk", "+1 555"]
    assert (
        cli("dnc", "check", "212-555-0142", "--json").code == 1
    )  # national format needs +country on the CLI
    checked = cli("dnc", "check", "+1 212 555 0142", "--json").json
    assert checked == {
        "phone": "+12125550142",
        "suppressed": True,
        "lists": ["national"],
        "registry_version": "2026-11",
        "registry_date": checked["registry_date"],
        "optout_at": None,
    }


def test_a_csv_registry_is_read_from_its_phone_column(cli, tmp_path: Path) -> None:
    path = tmp_path / "dnc.csv"
    path.write_text("name;Phone;note\nAnn;+44 20 7946 0018;x\nBob;+442079460077;y\n", encoding="utf-8")
    result = cli("dnc", "import", path, "--list", "national", "--version", "v1", "--json")
    assert result.json["count"] == 2
    assert cli("dnc", "check", "+442079460077", "--json").json["lists"] == ["national"]


def test_an_ftc_style_area_code_and_number_file_is_joined(cli, tmp_path: Path) -> None:
    path = registry(tmp_path, "212,5550123", "212,5550199", name="ftc.csv")
    result = cli("dnc", "import", path, "--list", "national", "--version", "v1", "--region", "US", "--json")
    assert result.json["count"] == 2
    assert cli("dnc", "check", "+12125550199", "--json").json["suppressed"] is True


@pytest.mark.parametrize("header", ["area,number", "Area Code,Phone", "NPA,Number", "区号,号码"])
def test_an_area_code_column_with_a_header_is_joined_too(cli, tmp_path: Path, header: str) -> None:
    path = registry(tmp_path, header, "212,5550123", "212,5550199", name="ftc.csv")
    result = cli("dnc", "import", path, "--list", "national", "--version", "v1", "--region", "US", "--json")
    assert result.code == 0, result.stderr
    assert result.json["count"] == 2
    assert cli("dnc", "check", "+12125550199", "--json").json["suppressed"] is True


def test_a_file_of_no_valid_numbers_with_region_given_does_not_ask_for_region(cli, tmp_path: Path) -> None:
    path = registry(tmp_path, "phone", "12", "34", name="odd.csv")
    result = cli("dnc", "import", path, "--list", "national", "--version", "v1", "--region", "US")
    assert result.code == 1 and result.stderr.count("\n") == 1  # no "loading FILE ..." off a terminal
    assert "--region" not in result.stderr and "--column" in result.stderr


def test_a_new_copy_replaces_the_snapshot_and_the_history_keeps_both(cli, tmp_path: Path, db_path) -> None:
    first = registry(tmp_path, "+12125550123", "+12125550142", name="a.txt")
    second = registry(tmp_path, "+12125550187", name="b.txt")
    cli("dnc", "import", first, "--list", "national", "--version", "v1", "--date", "2026-10-01")
    result = cli(
        "dnc", "import", second, "--list", "national", "--version", "v2", "--date", "2026-11-01", "--json"
    )
    assert result.json["replaced"] == "v1"
    assert national_numbers(db_path) == {"+12125550187"}
    history = cli("dnc", "loads", "--json").json
    assert [(h["version"], h["registry_date"], h["count"], h["in_force"]) for h in history] == [
        ("v1", "2026-10-01", 2, False),
        ("v2", "2026-11-01", 1, True),
    ]
    assert history[0]["sha256"] != history[1]["sha256"] and len(history[0]["sha256"]) == 64
    assert cli("dnc", "check", "+12125550123", "--json").json["suppressed"] is False


def test_loading_the_same_copy_again_changes_nothing(cli, tmp_path: Path) -> None:
    path = registry(tmp_path, "+12125550123")
    cli("dnc", "import", path, "--list", "national", "--version", "v1")
    again = cli("dnc", "import", path, "--list", "national", "--version", "v1", "--json")
    assert again.code == 0 and again.json["unchanged"] is True
    assert len(cli("dnc", "loads", "--json").json) == 1


def test_a_version_already_loaded_with_other_content_is_refused(cli, tmp_path: Path, db_path) -> None:
    cli(
        "dnc",
        "import",
        registry(tmp_path, "+12125550123", name="a.txt"),
        "--list",
        "national",
        "--version",
        "v1",
    )
    result = cli(
        "dnc",
        "import",
        registry(tmp_path, "+12125550142", name="b.txt"),
        "--list",
        "national",
        "--version",
        "v1",
    )
    assert result.code == 1
    assert "already loaded from a different file" in result.stderr
    assert national_numbers(db_path) == {"+12125550123"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"", "is empty"),
        (b"\n \n", "is empty"),
        (b"\x7fELF\x00\x01\x02", "is binary"),
        (b"junk\nmore junk\n", "has no valid numbers"),
    ],
)
def test_an_unusable_file_is_refused_in_one_line_and_nothing_changes(
    cli, tmp_path: Path, db_path, content: bytes | None, message: str
) -> None:
    cli(
        "dnc",
        "import",
        registry(tmp_path, "+12125550123", name="good.txt"),
        "--list",
        "national",
        "--version",
        "v1",
    )
    bad = tmp_path / "bad.txt"
    if content is not None:
        bad.write_bytes(content)
    result = cli("dnc", "import", bad, "--list", "national", "--version", "v2")
    assert result.code == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert national_numbers(db_path) == {"+12125550123"}
    assert [h["version"] for h in cli("dnc", "loads", "--json").json] == ["v1"]


def test_a_load_failing_half_way_leaves_the_previous_snapshot_and_history(
    store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dnc.import_registry(store, registry(tmp_path, "+12125550123", name="a.txt"), "v1")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "audit", crash)  # after the swap, before the commit
    with pytest.raises(KeyboardInterrupt):
        dnc.import_registry(store, registry(tmp_path, "+12125550142", name="b.txt"), "v2")
    numbers = {r[0] for r in store.conn.execute("SELECT phone FROM dnc_national")}
    assert numbers == {"+12125550123"}
    assert [r["version"] for r in dnc.loads(store)] == ["v1"]
    leftovers = store.conn.execute(
        "SELECT name FROM sqlite_master WHERE name LIKE 'dnc_national_%'"
    ).fetchall()
    assert leftovers == []


def test_loads_carry_the_registry_date_so_a_stale_copy_can_be_refused(cli, tmp_path: Path) -> None:
    cli(
        "dnc",
        "import",
        registry(tmp_path, "+12125550123"),
        "--list",
        "national",
        "--version",
        "v1",
        "--date",
        "2026-09-01",
    )
    checked = cli("dnc", "check", "+12125550123", "--json").json
    assert checked["registry_date"] == "2026-09-01"
    load = cli("dnc", "loads", "--json").json[0]
    assert load["registry_date"] == "2026-09-01"
    assert load["age_days"] == (utcnow().date() - date(2026, 9, 1)).days


def test_a_registry_date_in_the_future_or_malformed_is_refused(cli, tmp_path: Path) -> None:
    path = registry(tmp_path, "+12125550123")
    future = cli("dnc", "import", path, "--list", "national", "--version", "v1", "--date", "2999-01-01")
    assert future.code == 1 and "in the future" in future.stderr
    bad = cli("dnc", "import", path, "--list", "national", "--version", "v1", "--date", "yesterday")
    assert bad.code == 2 and "not a date" in bad.stderr


def test_import_needs_the_national_list_and_a_known_region(cli, tmp_path: Path) -> None:
    path = registry(tmp_path, "+12125550123")
    assert cli("dnc", "import", path, "--list", "internal", "--version", "v1").code == 2
    assert cli("dnc", "import", path, "--list", "national", "--version", "v1", "--region", "XX").code == 2
    assert cli("dnc", "import", path, "--list", "national").code == 2  # --version is required


@pytest.mark.usefixtures("initialized")
def test_internal_entries_take_effect_at_once_and_removal_closes_them(cli, db_path) -> None:
    added = cli(
        "dnc", "add", "+44 20 7946 0018", "--list", "internal", "--reason", "asked an agent", "--json"
    )
    assert added.code == 0 and added.json["added"] is True
    assert cli("dnc", "check", "+442079460018", "--json").json["lists"] == ["internal"]
    assert cli("dnc", "add", "+442079460018", "--json").json["added"] is False  # twice changes nothing
    assert cli("dnc", "remove", "+442079460018", "--list", "internal").code == 0
    assert cli("dnc", "check", "+442079460018", "--json").json["suppressed"] is False
    conn = sqlite3.connect(db_path)
    rows = conn.execute("SELECT reason, removed_at IS NOT NULL, removed_by FROM dnc_internal").fetchall()
    assert rows == [("asked an agent", 1, "tester")]
    conn.close()


@pytest.mark.usefixtures("initialized")
def test_removing_a_number_not_on_the_list_is_an_error(cli) -> None:
    result = cli("dnc", "remove", "+442079460018")
    assert result.code == 1 and "not on the internal do-not-call list" in result.stderr


@pytest.mark.usefixtures("initialized")
def test_bad_numbers_and_lists_on_the_command_line_are_refused(cli) -> None:
    assert cli("dnc", "add", "12345").code == 1
    assert cli("dnc", "add", "+442079460018", "--list", "national").code == 2
    assert cli("dnc", "check", "not-a-number").code == 1


@pytest.mark.usefixtures("initialized")
def test_dnc_check_json_shape_for_a_clean_number(cli) -> None:
    result = cli("dnc", "check", "+12125550123", "--json")
    assert result.code == 0
    assert result.json == {
        "phone": "+12125550123",
        "suppressed": False,
        "lists": [],
        "registry_version": None,
        "registry_date": None,
        "optout_at": None,
    }


def test_every_change_writes_an_audit_row(cli, tmp_path: Path) -> None:
    cli("dnc", "import", registry(tmp_path, "+12125550123"), "--list", "national", "--version", "v1")
    cli("dnc", "add", "+442079460018")
    cli("dnc", "remove", "+442079460018")
    cli("optout", "+12125550142")
    cli("consent", "grant", "+12125550142", "--purpose", "marketing", "--source", "web")
    log = cli("audit", "log", "--json").json
    assert [(r["entity"], r["action"]) for r in log if r["entity"] != "schema"] == [
        ("dnc_registry", "load"),
        ("dnc_internal", "add"),
        ("dnc_internal", "remove"),
        ("optout", "optout"),
        ("consent", "grant"),
    ]
    assert cli("audit", "verify").code == 0


def test_errors_from_a_real_process_have_no_traceback(tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    assert run_process("--db", db, "init").code == 0
    missing = run_process(
        "--db", db, "dnc", "import", str(tmp_path / "none.txt"), "--list", "national", "--version", "v"
    )
    assert missing.code == 1 and missing.stderr.strip().endswith("check the path")
    assert "Traceback" not in missing.stderr
    bad = run_process("--db", db, "dnc", "check", "nope", "--json")
    assert bad.code == 1 and "Traceback" not in bad.stderr and bad.stdout == ""
    good = run_process("--db", db, "dnc", "check", "+12125550123", "--json")
    assert good.code == 0 and json.loads(good.stdout)["suppressed"] is False


def test_the_demo_step_loads_checks_and_says_what_it_did(store, tmp_path: Path) -> None:
    said: list[str] = []
    dnc.demo(store, tmp_path, said.append)
    text = "\n".join(said)
    assert "dnc import" in text and "invalid" in text
    assert dnc.check(store, "+12125550123")["lists"] == ["national"]
    assert dnc.check(store, "+12125550111")["lists"] == ["internal"]
    assert dnc.check(store, "+447700900123")["lists"] == ["optout"]


def test_a_user_error_is_raised_for_an_unknown_csv_column(store, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("phone,name\n+12125550123,a\n", encoding="utf-8")
    with pytest.raises(UserError, match="no column 'tel'"):
        dnc.import_registry(store, path, "v1", column="tel")


def test_the_demo_step_uses_numbers_from_the_contact_book_when_there_is_one(store, tmp_path: Path) -> None:
    phones = [f"+1212555{n:04d}" for n in range(300, 306)]
    with store.write() as conn:
        for phone in phones:
            conn.execute(
                "INSERT INTO contacts (phone, created_at, updated_at) VALUES (?, '2026-11-01T00:00:00Z', "
                "'2026-11-01T00:00:00Z')",
                (phone,),
            )
    said: list[str] = []
    dnc.demo(store, tmp_path, said.append)
    assert dnc.check(store, phones[1])["lists"] == ["national"]
    assert dnc.check(store, phones[2])["lists"] == ["internal"]
    assert dnc.check(store, phones[3])["lists"] == ["optout"]
    assert "one number from the contact book" in "\n".join(said)


def test_overlapping_loads_of_one_version_from_two_files_keep_only_one(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    db = str(tmp_path / "p.db")
    assert run_process("--db", db, "init").code == 0
    files = [registry(tmp_path, f"+1212555{n:04d}", name=f"f{n}.txt") for n in (123, 142)]
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda f: run_process(
                    "--db", db, "dnc", "import", str(f), "--list", "national", "--version", "v1"
                ),
                files,
            )
        )
    assert sorted(r.code for r in results) == [0, 1]
    refused = next(r for r in results if r.code == 1)
    assert "already loaded from a different file" in refused.stderr and "Traceback" not in refused.stderr
    loads = json.loads(run_process("--db", db, "dnc", "loads", "--json").stdout)
    assert len(loads) == 1


def test_the_human_output_names_the_outcome(cli, tmp_path: Path) -> None:
    path = registry(tmp_path, "+12125550123", "junk")
    loaded = cli("dnc", "import", path, "--list", "national", "--version", "v1")
    assert loaded.code == 0 and "1 number (1 invalid line," in " ".join(loaded.stdout.split())
    again = cli("dnc", "import", path, "--list", "national", "--version", "v1")
    assert "already loaded" in again.stdout
    loads = cli("dnc", "loads").stdout.splitlines()  # a line a load, on any terminal
    assert (
        loads[1].startswith("  v1  dated ")
        and "1 numbers" not in loads[1]
        and loads[1].endswith("(in force)")
    )
    assert "do not call" in cli("dnc", "check", "+12125550123").stdout
    assert "not on any do-not-call list" in cli("dnc", "check", "+12125550142").stdout
    assert "added to" in cli("dnc", "add", "+12125550142").stdout
    assert "removed from" in cli("dnc", "remove", "+12125550142").stdout
    assert "opted out (sms)" in cli("optout", "+12125550142", "--channel", "sms").stdout
    assert cli("consent", "grant", "+12125550142", "--purpose", "survey", "--source", "call").code == 0
    shown = cli("consent", "show", "+12125550142").stdout
    assert "survey: granted" in shown and "marketing: none recorded" in shown
    assert cli("dnc", "check", "+12125550123", "--quiet").stdout == ""


def test_repeating_a_load_with_region_added_says_the_file_was_not_read_again(cli, tmp_path, db_path) -> None:
    """The operator sees '(212) 555-0100' among the invalid lines, runs the same command with --region US,
    and was told only 'nothing changed': the national number stayed out of the copy without a word."""
    path = registry(tmp_path, "+12125550123", "(212) 555-0100")
    cli("dnc", "import", path, "--list", "national", "--version", "v1")
    again = cli("dnc", "import", path, "--list", "national", "--version", "v1", "--region", "US")
    assert again.code == 0
    said = " ".join(again.stdout.split())
    assert said == (
        "registry version v1 is already loaded from this file (1 number): nothing changed (the file was not "
        "read again: to read it with another --region, give a new --version)"
    )
    assert national_numbers(db_path) == {"+12125550123"}
    cli("dnc", "import", path, "--list", "national", "--version", "v1b", "--region", "US")
    assert national_numbers(db_path) == {"+12125550123", "+12125550100"}


def test_a_one_column_csv_with_a_phone_header_does_not_count_the_header_as_invalid(
    cli, tmp_path: Path
) -> None:
    """Exported as a one-column CSV, the registry's header 'phone' (after a BOM) was counted as an invalid
    line and shown among the examples: the count an operator checks against the registry's was off."""
    path = tmp_path / "national.csv"
    path.write_bytes("\ufeffPhone\r\n+12125550123\r\n+12125550124\r\n".encode())
    loaded = cli("dnc", "import", path, "--list", "national", "--version", "v1", "--json").json
    assert (loaded["count"], loaded["invalid"], loaded["invalid_examples"]) == (2, 0, [])


def test_a_refused_registry_load_is_one_line_without_a_loading_note(cli, tmp_path: Path) -> None:
    """`dnc import ... --list internal` printed "loading FILE ..." and then the usage error."""
    path = registry(tmp_path, "+12125550123")
    refused = cli("dnc", "import", path, "--list", "internal", "--version", "v1")
    assert refused.code == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and "loading" not in refused.stderr


def test_the_parsing_child_of_a_killed_registry_load_does_not_outlive_it(tmp_path: Path) -> None:
    """A big file is parsed on two cores by a forked child. After a `kill -9` of the load (cron's timeout)
    the child blocked for ever writing to its pipe, 150 MB, holding the database open."""
    import os
    import signal
    import subprocess
    import sys
    import time

    if not Path("/proc/self/task").exists():
        pytest.skip("needs Linux /proc to see the child")
    registry_path = tmp_path / "national.txt"
    registry_path.write_text("".join(f"+1212{n:07d}\n" for n in range(0, 9_000_000, 6)))  # 1.5M lines
    db = tmp_path / "cc.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cctool", "--db", str(db), "dnc", "import", str(registry_path),
         "--list", "national", "--version", "v1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    children: list[str] = []
    deadline = time.monotonic() + 60
    while not children and proc.poll() is None and time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        except OSError:
            break
        time.sleep(0.005)
    assert children, "the load did not fork its parsing child"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
        time.sleep(0.05)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    for pid in alive:  # do not leave it behind for the next test either
        os.kill(int(pid), signal.SIGKILL)
    assert not alive
