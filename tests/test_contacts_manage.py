"""Looking people up, listing, exporting and erasing them."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

from .contacts_helpers import write

BOOK = (
    "phone,name,email,tags,marketing consent,city\n"
    "+12125550123,Ann Lee,ann@example.com,vip|renewal-due,yes,New York\n"
    "+447911123456,Bob Ray,,renewal-due,,Leeds\n"
    "+8613800138000,张伟,,,no,上海\n"
)


def load(cli, tmp_path: Path) -> None:
    result = cli("contacts", "import", write(tmp_path / "book.csv", BOOK), "--json")
    assert result.json["imported"] == 3


def test_show_finds_a_contact_by_any_spelling_of_the_number(cli, tmp_path: Path) -> None:
    load(cli, tmp_path)
    for spelling in ["+1 (212) 555-0123", "+1-212-555-0123", "tel:+1-212-555-0123"]:
        assert cli("contacts", "show", spelling, "--json").json["name"] == "Ann Lee", spelling
    # national formats: with --region, or recognised from the regions already in the book
    assert cli("contacts", "show", "(212) 555-0123", "--region", "US", "--json").json["name"] == "Ann Lee"
    assert cli("contacts", "show", "07911 123456", "--json").json["name"] == "Bob Ray"
    assert cli("contacts", "show", "138 0013 8000", "--json").json["name"] == "张伟"


def test_show_of_an_unknown_or_invalid_number_is_one_clear_line(cli, tmp_path: Path) -> None:
    load(cli, tmp_path)
    unknown = cli("contacts", "show", "+12125550199")
    assert (
        unknown.code == 1
        and unknown.stderr.strip() == "cctool: no contact with number +12125550199 ('+12125550199')"
    )
    invalid = cli("contacts", "show", "12")
    assert invalid.code == 1 and "not a valid number" in invalid.stderr


def test_list_filters_by_tag(cli, tmp_path: Path) -> None:
    load(cli, tmp_path)
    assert [c["phone"] for c in cli("contacts", "list", "--tag", "renewal-due", "--json").json] == [
        "+12125550123",
        "+447911123456",
    ]
    assert len(cli("contacts", "list", "--json").json) == 3
    assert "Ann Lee" in cli("contacts", "list").stdout


def test_export_writes_what_import_reads(cli, tmp_path: Path) -> None:
    load(cli, tmp_path)
    result = cli("contacts", "export")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0] == {
        "phone": "+12125550123",
        "name": "Ann Lee",
        "email": "ann@example.com",
        "tags": "renewal-due|vip",
        "timezone": "",
        "marketing_consent": "yes",
        "city": "New York",
    }
    assert rows[2]["marketing_consent"] == "no" and rows[2]["city"] == "上海"
    out = tmp_path / "out.csv"
    assert cli("contacts", "export", "--out", out, "--json").json == {"exported": 3, "file": str(out)}
    again = cli("contacts", "import", out, "--json").json
    assert again == {
        "read": 3,
        "imported": 0,
        "updated": 0,
        "unchanged": 3,
        "duplicates_in_file": 0,
        "rejected": 0,
    }


def test_erase_clears_the_person_keeps_a_suppression_and_the_audit_trail(
    cli, tmp_path: Path, db_path: Path
) -> None:
    load(cli, tmp_path)
    conn = sqlite3.connect(db_path)
    audit_before = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    result = cli("contacts", "erase", "+1 212 555 0123", "--json")
    assert result.code == 0 and result.json["phone"] == "+12125550123" and not result.json["already_erased"]
    name, email, attributes, erased_at = conn.execute(
        "SELECT name, email, attributes, erased_at FROM contacts WHERE phone = '+12125550123'"
    ).fetchone()
    assert (name, email, attributes) == (None, None, "{}") and erased_at
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM contact_tags JOIN contacts ON id = contact_id WHERE phone = '+12125550123'"
        ).fetchone()[0]
        == 0
    )
    assert conn.execute("SELECT reason FROM suppressions WHERE phone = '+12125550123'").fetchall() == [
        ("erased",)
    ]
    rows = conn.execute("SELECT action, payload FROM audit_log WHERE seq > ?", (audit_before,)).fetchall()
    assert [r[0] for r in rows] == ["contacts.erase"]
    assert "suppressions" in json.loads(rows[0][1])["kept"]["phone"]
    assert conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == audit_before + 1
    assert cli("audit", "verify").code == 0
    # gone from lists and exports, and erasing again changes nothing
    assert "+12125550123" not in [c["phone"] for c in cli("contacts", "list", "--json").json]
    assert "+12125550123" not in cli("contacts", "export").stdout
    assert cli("contacts", "erase", "+12125550123", "--json").json["already_erased"] is True
    assert conn.execute("SELECT COUNT(*) FROM suppressions").fetchone()[0] == 1


def test_an_erased_number_is_never_imported_again(cli, tmp_path: Path, db_path: Path) -> None:
    load(cli, tmp_path)
    cli("contacts", "erase", "+12125550123")
    again = cli("contacts", "import", write(tmp_path / "book.csv", BOOK), "--json").json
    assert again["rejected"] == 1 and again["unchanged"] == 2
    rejects = (tmp_path / "book.rejects.csv").read_text("utf-8-sig").splitlines()
    assert rejects[1].startswith("2,erased,+12125550123,Ann Lee")
    name = (
        sqlite3.connect(db_path)
        .execute("SELECT name FROM contacts WHERE phone = '+12125550123'")
        .fetchone()[0]
    )
    assert name is None


def test_erasing_an_unknown_number_is_refused(cli, tmp_path: Path) -> None:
    load(cli, tmp_path)
    result = cli("contacts", "erase", "+12125550199")
    assert result.code == 1 and "no contact with number" in result.stderr


def test_export_with_json_and_no_file_prints_one_json_document(cli, tmp_path: Path) -> None:
    load(cli, tmp_path)
    result = cli("contacts", "export", "--json")
    assert [c["phone"] for c in result.json] == ["+12125550123", "+447911123456", "+8613800138000"]
