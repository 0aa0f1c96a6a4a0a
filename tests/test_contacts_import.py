"""Importing: dedupe, the update rules, consent from the file, dry runs, atomicity, the import record."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cctool import contacts_import, csvread
from cctool.contacts_import import import_contacts
from cctool.store import open_store

from .contacts_helpers import people, snapshot, write

FIRST = (
    "phone,name,email,tags,timezone,marketing consent,plan\n"
    "+12125550123,Ann Lee,,vip,,yes,gold\n"
    "(415) 555-0199,Bob Ray,bob@example.com,,America/Denver,,\n"
    "+1 212 555 0123,,ann@example.com,renewal-due;web,,,\n"  # same number as row 2
    "+442079460123,Cat,,,Mars/Olympus,,\n"
    "+447911123456,Dan,,,,maybe,\n"
    "not a number,Eve,,,,,\n"
)


def import_json(cli, *args) -> dict:
    result = cli("contacts", "import", *map(str, args), "--json")
    assert result.code == 0, result.stderr
    return result.json


def test_counts_dedupe_within_the_file_and_reject_bad_rows(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "crm.csv", FIRST)
    assert import_json(cli, path, "--region", "US") == {
        "read": 6,
        "imported": 2,
        "updated": 0,
        "unchanged": 0,
        "duplicates_in_file": 1,
        "rejected": 3,
    }
    ann = cli("contacts", "show", "+12125550123", "--json").json
    # the repeat added its tags and filled the empty email; its empty name did not wipe the first one
    assert (ann["name"], ann["email"], ann["tags"]) == (
        "Ann Lee",
        "ann@example.com",
        ["renewal-due", "vip", "web"],
    )
    assert ann["attributes"] == {"plan": "gold"}
    bob = cli("contacts", "show", "+14155550199", "--json").json
    assert bob["timezone"] == "America/Denver" and bob["number_zones"] == ["America/Los_Angeles"]
    reasons = [
        line.split(",")[:2] for line in (tmp_path / "crm.rejects.csv").read_text("utf-8-sig").splitlines()[1:]
    ]
    assert reasons == [["5", "bad_timezone"], ["6", "bad_consent"], ["7", "invalid_phone"]]


def test_reimporting_the_same_file_changes_nothing(cli, tmp_path: Path, db_path: Path) -> None:
    path = write(tmp_path / "crm.csv", FIRST)
    import_json(cli, path, "--region", "US")
    before = people(db_path)
    again = import_json(cli, path, "--region", "US")
    assert again == {
        "read": 6,
        "imported": 0,
        "updated": 0,
        "unchanged": 2,
        "duplicates_in_file": 1,
        "rejected": 3,
    }
    assert people(db_path) == before


def test_a_known_number_is_updated_never_duplicated(cli, tmp_path: Path, db_path: Path) -> None:
    import_json(cli, write(tmp_path / "a.csv", FIRST), "--region", "US")
    second = write(
        tmp_path / "b.csv",
        "mobile,name,tags,plan,marketing consent\n"
        "+12125550123,Ann Lee-Smith,vip,,no\n"  # new name, same tag, empty plan, consent withdrawn
        "+14155550199,,,,\n"  # nothing new
        "+8613800138000,Wei,,,\n",
    )
    assert import_json(cli, second, "--tag", "q4") == {
        "read": 3,
        "imported": 1,
        "updated": 2,
        "unchanged": 0,
        "duplicates_in_file": 0,
        "rejected": 0,
    }
    ann = cli("contacts", "show", "+12125550123", "--json").json
    assert ann["name"] == "Ann Lee-Smith"
    assert ann["attributes"] == {"plan": "gold"}  # an empty cell does not erase
    assert ann["tags"] == ["q4", "renewal-due", "vip", "web"]
    assert ann["marketing_consent"] == "revoke"
    assert [(c["action"], c["source"]) for c in ann["consents"]] == [("grant", "a.csv"), ("revoke", "b.csv")]
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT COUNT(*) FROM contacts WHERE phone = '+12125550123'").fetchone()[0] == 1


def test_consent_from_a_file_names_the_file_and_row_as_evidence(cli, tmp_path: Path, db_path: Path) -> None:
    import_json(cli, write(tmp_path / "crm.csv", FIRST), "--region", "US")
    conn = sqlite3.connect(db_path)
    rows = conn.execute("SELECT phone, purpose, action, source, evidence, actor FROM consents").fetchall()
    import_id = conn.execute("SELECT id FROM imports").fetchone()[0]
    assert rows == [("+12125550123", "marketing", "grant", "crm.csv", f"import {import_id} row 2", "tester")]


def test_each_import_writes_one_audit_row_and_one_import_record(cli, tmp_path: Path, db_path: Path) -> None:
    cli("init")
    conn = sqlite3.connect(db_path)
    audit_before = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    import_json(cli, write(tmp_path / "crm.csv", FIRST), "--region", "US", "--source", "webinar-2026")
    assert conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == audit_before + 1
    entity, action, payload = conn.execute(
        "SELECT entity, action, payload FROM audit_log ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    assert (entity, action) == ("imports", "contacts.import")
    assert json.loads(payload)["imported"] == 2 and json.loads(payload)["source"] == "webinar-2026"
    record = conn.execute(
        "SELECT file_name, source, encoding, read, imported, rejected, actor FROM imports"
    ).fetchone()
    assert record == ("crm.csv", "webinar-2026", "utf-8", 6, 2, 3, "tester")
    assert conn.execute("SELECT DISTINCT source FROM contacts").fetchall() == [("webinar-2026",)]
    assert cli("audit", "verify").code == 0


def test_a_dry_run_counts_but_writes_nothing(cli, tmp_path: Path, db_path: Path) -> None:
    cli("init")
    before = snapshot(db_path)
    path = write(tmp_path / "crm.csv", FIRST)
    counts = import_json(cli, path, "--region", "US", "--dry-run")
    assert counts["imported"] == 2 and counts["rejected"] == 3
    assert snapshot(db_path) == before
    assert not (tmp_path / "crm.rejects.csv").exists()


def test_a_failure_half_way_leaves_the_database_as_it_was(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(db_path, actor="tester")
    import_contacts(store, write(tmp_path / "a.csv", FIRST), region="US")
    before = snapshot(db_path)
    rows = "".join(f"+1212555{n:04d},Person {n},,,,yes,\n" for n in range(1000, 3000))
    big = write(
        tmp_path / "big.csv", "phone,name,email,tags,timezone,consent,plan\n+12125550123,Ann B,,x,,,\n" + rows
    )
    monkeypatch.setattr(csvread, "BLOCK_CHARS", 4096)  # many blocks
    real_insert, inserted = contacts_import.insert_contacts, []

    def crash_after_500(conn, block, first_id):
        count = real_insert(conn, block, first_id)
        inserted.extend(range(count))
        if len(inserted) > 500:
            raise RuntimeError("disk on fire")
        return count

    monkeypatch.setattr(contacts_import, "insert_contacts", crash_after_500)
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_contacts(store, big, region="US")
    store.close()
    assert len(inserted) > 500
    assert snapshot(db_path) == before
    assert not (tmp_path / "big.rejects.csv").exists()


def test_ctrl_c_during_an_import_keeps_nothing_and_says_so(
    cli, tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("init")
    before = snapshot(db_path)
    real_insert = contacts_import.insert_contacts

    def interrupted(conn, block, first_id):
        real_insert(conn, block, first_id)
        raise KeyboardInterrupt

    monkeypatch.setattr(contacts_import, "insert_contacts", interrupted)
    result = cli("contacts", "import", write(tmp_path / "crm.csv", FIRST), "--region", "US")
    assert result.code == 130
    assert "interrupted; nothing half-written was kept" in result.stderr
    assert snapshot(db_path) == before


def test_worker_processes_give_the_same_result_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = ["phone,name,tags,marketing consent,note"]
    for n in range(3000):
        phone = f"+1212555{n % 2500:04d}" if n % 7 else f"(646) 555-{n % 10000:04d}"
        lines.append(f'{phone},Name {n},t{n % 5}|all,{"yes" if n % 3 else "no"},"quoted, {n}\nsecond line"')
    lines.append("+1 999 000,Bad,,,")
    path = write(tmp_path / "many.csv", "\n".join(lines) + "\n")
    monkeypatch.setattr(csvread, "BLOCK_CHARS", 5000)
    results = {}
    for workers in ("0", "2"):
        monkeypatch.setenv("CCTOOL_IMPORT_WORKERS", workers)
        monkeypatch.setattr(contacts_import, "PARALLEL_MIN_CHARS", 0)
        db = tmp_path / f"w{workers}.db"
        store = open_store(db, actor="tester")
        counts = import_contacts(store, path, region="US", rejects=tmp_path / f"r{workers}.csv").counts
        store.close()
        data = people(db)
        data["contacts"] = [r[:5] + r[6:10] for r in data["contacts"]]  # without the timestamps
        data["consents"] = [r[1:6] for r in data["consents"]]
        results[workers] = (counts, data, (tmp_path / f"r{workers}.csv").read_text("utf-8-sig"))
    assert results["0"] == results["2"]
    assert results["0"][0]["duplicates_in_file"] > 0 and results["0"][0]["rejected"] == 1


def test_a_file_that_repeats_a_number_with_other_values_still_reimports_as_unchanged(
    cli, tmp_path: Path, db_path: Path
) -> None:
    path = write(
        tmp_path / "repeats.csv",
        "phone,name,marketing consent,tags,plan\n"
        "+447911123456,Ann,yes,a,gold\n"
        "+447911123456,Annie,no,b,\n"
        "+447911123456,,,,silver\n",
    )
    first = import_json(cli, path)
    assert (first["imported"], first["duplicates_in_file"]) == (1, 2)
    ann = cli("contacts", "show", "+447911123456", "--json").json
    assert (ann["name"], ann["marketing_consent"], ann["tags"]) == ("Annie", "revoke", ["a", "b"])
    assert ann["attributes"] == {"plan": "silver"}
    before = people(db_path)
    again = import_json(cli, path)
    assert again == {
        "read": 3,
        "imported": 0,
        "updated": 0,
        "unchanged": 1,
        "duplicates_in_file": 2,
        "rejected": 0,
    }
    assert people(db_path) == before


def test_read_is_the_sum_of_the_outcomes(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "crm.csv", FIRST)
    for _ in range(2):
        counts = import_json(cli, path, "--region", "US")
        assert counts["read"] == sum(v for k, v in counts.items() if k != "read")


def test_a_column_mapped_to_ignore_is_not_kept(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "phone,secret,plan\n+447911123456,xyz,gold\n")
    import_json(cli, path, "--map", "secret=ignore")
    assert cli("contacts", "show", "+447911123456", "--json").json["attributes"] == {"plan": "gold"}


def test_a_region_that_is_not_a_country_code_is_a_usage_error(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "phone\n+447911123456\n")
    result = cli("contacts", "import", path, "--region", "USA")
    assert result.code == 2 and "two-letter country code" in result.stderr


def test_a_zone_name_in_another_case_is_stored_in_its_canonical_spelling(cli, tmp_path: Path) -> None:
    """CRMs export 'utc' or 'asia/shanghai' (zone names are case-blind on macOS and Windows): every such row
    was rejected as bad_timezone. A name that is no zone in any case still is."""
    path = write(
        tmp_path / "tz.csv",
        "phone,timezone\n+14155550203,utc\n+8613800138000,asia/shanghai\n+14155550204,GMT+8\n",
    )
    assert import_json(cli, path)["rejected"] == 1
    shown = cli("contacts", "show", "+8613800138000", "--json").json
    assert shown["timezone"] == "Asia/Shanghai"
    assert cli("contacts", "show", "+14155550203", "--json").json["timezone"] == "UTC"
    assert import_json(cli, path)["unchanged"] == 2  # re-importing finds the canonical names equal


def test_the_summary_counts_rejects_by_reason_and_points_national_numbers_to_region(
    cli, tmp_path: Path
) -> None:
    """A first import of a Chinese CRM without --region rejected every row and said only 'rejected 3' and
    the rejects file's name: the operator had to open it to learn why."""
    path = write(tmp_path / "crm.csv", "手机号码,姓名\n138 0013 8000,张三\n139 0013 9000,李四\n,无号码\n")
    shown = cli("contacts", "import", path)
    assert shown.code == 0
    assert "rejected: 2 invalid_phone, 1 missing_phone" in shown.stdout
    assert "numbers written without +country need --region" in shown.stdout
    again = cli("contacts", "import", path, "--region", "CN")
    assert "rejected: 1 missing_phone" in again.stdout and "need --region" not in again.stdout
    assert import_json(cli, path, "--region", "CN")["rejected"] == 1  # the JSON document is unchanged


def test_rejects_naming_the_file_being_imported_is_refused_and_the_file_kept(
    cli, tmp_path: Path, db_path: Path
) -> None:
    """`--rejects crm.csv` on `import crm.csv` replaced the CRM export with its two bad rows."""
    text = "phone,name\n+14155550123,Ann\nnot a number,Bob\n"
    path = write(tmp_path / "crm.csv", text)
    refused = cli("contacts", "import", path, "--rejects", tmp_path / "." / "crm.csv")
    assert refused.code == 2 and "is the file being imported" in refused.stderr
    assert path.read_text(encoding="utf-8") == text
    assert not db_path.exists()  # nothing imported: the refused first import left no database either


def test_a_fixed_rejects_file_imports_without_its_row_and_reason_columns(cli, tmp_path: Path) -> None:
    """The rejects file, corrected and imported again, gave every contact attributes `row` and `reason`."""
    path = write(tmp_path / "crm.csv", "phone,name,plan\nnot a number,Bob,gold\n")
    import_json(cli, path)
    rejects = tmp_path / "crm.rejects.csv"
    fixed = rejects.read_text(encoding="utf-8-sig").replace("not a number", "+14155550124")
    write(rejects, fixed)
    assert import_json(cli, rejects)["imported"] == 1
    assert cli("contacts", "show", "+14155550124", "--json").json["attributes"] == {"plan": "gold"}


def test_a_row_with_its_number_in_a_second_phone_column_is_imported(cli, tmp_path: Path) -> None:
    """CRMs export Mobile and Tel and fill one or the other: a row with only Tel filled was rejected as
    missing_phone, though its number was right there."""
    path = write(tmp_path / "crm.csv", "name,mobile,tel\nA,,+14155550404\nB,+14155550405,\nC,,\n")
    counts = import_json(cli, path)
    assert (counts["imported"], counts["rejected"]) == (2, 1)
    assert cli("contacts", "show", "+14155550404", "--json").json["name"] == "A"
    mapped = write(tmp_path / "m.csv", "name,mobile,tel\nD,,+14155550406\n")
    assert import_json(cli, mapped, "--map", "mobile=phone")["rejected"] == 1  # an explicit map is kept to


def test_an_excel_sep_line_names_the_delimiter_and_rejects_keep_their_file_lines(cli, tmp_path: Path) -> None:
    """European Excel saves CSV with a first line `sep=;`: the file was refused. It names the delimiter,
    and a rejected row's line is still the line of the file it is on (blank lines before the header too)."""
    text = "sep=;\r\n\r\nphone;name;plan\r\n+12125550123;Ann Lee;gold\r\nnot a number;Eve;\r\n"
    path = write(tmp_path / "excel.csv", text, "utf-8-sig")
    summary = import_json(cli, path)
    assert (summary["read"], summary["imported"], summary["rejected"]) == (2, 1, 1)
    assert cli("contacts", "show", "+12125550123", "--json").json["attributes"] == {"plan": "gold"}
    rejects = (tmp_path / "excel.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rejects[1].startswith("5,invalid_phone,not a number")  # the file's line 5


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read_as_utf16(cli, tmp_path: Path, encoding: str) -> None:
    """Some exports write UTF-16 with no BOM: the file was refused as 'binary'."""
    path = write(tmp_path / "crm.csv", "phone,name\r\n+8613800138000,王小明\r\n", encoding)
    result = cli("contacts", "import", str(path))
    assert result.code == 0 and f"({encoding}, ','" in result.stdout
    assert cli("contacts", "show", "+8613800138000", "--json").json["name"] == "王小明"


def test_a_binary_file_is_still_refused_as_binary(cli, tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_bytes(bytes(range(256)) * 4)
    refused = cli("contacts", "import", str(path))
    assert refused.code == 1 and "looks binary" in refused.stderr
