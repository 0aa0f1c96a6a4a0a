"""Contact files as CRMs export them, and the files a user can get wrong."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from .conftest import run_process
from .contacts_helpers import snapshot, write

GB_FILE = (
    "姓名,手机号,标签,营销同意,城市\n"
    "张伟,138 0013 8000,会员|VIP,是,上海\n"
    "李娜, +86 139-1234-5678 ,,否,成都\n"
    "王芳,(0)13700137000,,,\n"
    "刘洋,12345,,,\n"
    "陈静,,,,北京\n"
)


def test_a_gb18030_export_with_chinese_headers_and_messy_numbers_is_read(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "客户.csv", GB_FILE, "gb18030")
    result = cli("contacts", "import", path, "--region", "CN", "--json")
    assert result.code == 0, result.stderr
    assert result.json == {
        "read": 5,
        "imported": 3,
        "updated": 0,
        "unchanged": 0,
        "duplicates_in_file": 0,
        "rejected": 2,
    }
    shown = cli("contacts", "show", "+8613800138000", "--json").json
    assert shown["name"] == "张伟"
    assert shown["tags"] == ["VIP", "会员"]
    assert shown["number_zones"] == ["Asia/Shanghai"]
    assert shown["attributes"] == {"城市": "上海"}
    assert shown["marketing_consent"] == "grant"
    assert cli("contacts", "show", "+8613912345678", "--json").json["marketing_consent"] == "revoke"
    # a national prefix in brackets is still the same mobile number
    assert cli("contacts", "show", "+8613700137000", "--json").json["name"] == "王芳"


def test_the_rejects_file_holds_each_bad_row_as_it_was_with_row_number_and_reason(
    cli, tmp_path: Path
) -> None:
    path = write(tmp_path / "cn.csv", GB_FILE, "gb18030")
    cli("contacts", "import", path, "--region", "CN", "--rejects", tmp_path / "bad.csv")
    with open(tmp_path / "bad.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["row", "reason", "姓名", "手机号", "标签", "营销同意", "城市"]
    assert rows[1:] == [
        ["5", "invalid_phone", "刘洋", "12345", "", "", ""],
        ["6", "missing_phone", "陈静", "", "", "", "北京"],
    ]


@pytest.mark.parametrize(
    ("name", "text", "encoding"),
    [
        ("bom.csv", "\ufeffPhone,Name\n+442079460123,Ann\n+447911123456,Bob\n", "utf-8"),
        ("semi.csv", "Mobile;Name;Note\n+442079460123;Ann;a;b\n+447911123456;Bob;c\n", "utf-8"),
        ("tab.tsv", "tel\tname\n+442079460123\tAnn\n+447911123456\tBob\n", "utf-8"),
        ("excel.txt", "Telephone\tName\r\n+442079460123\tAnn\r\n+447911123456\tBob\r\n", "utf-16"),
        ("gbk.csv", "电话,姓名\n+442079460123,安\n+447911123456,博\n", "gbk"),
    ],
)
def test_encodings_and_delimiters_are_recognised(
    cli, tmp_path: Path, name: str, text: str, encoding: str
) -> None:
    path = write(tmp_path / name, text, encoding)
    result = cli("contacts", "import", path, "--json")
    assert result.code == 0, result.stderr
    assert result.json["imported"] == 2
    phones = [c["phone"] for c in cli("contacts", "list", "--json").json]
    assert phones == ["+442079460123", "+447911123456"]


def test_a_quoted_field_may_hold_the_delimiter_and_a_newline(cli, tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.csv",
        'phone,name,notes\n+442079460123,"Smith, Ann","line one\nline two"\n+447911x,Bob,\n',
    )
    result = cli("contacts", "import", path, "--json", "--rejects", tmp_path / "r.csv")
    assert result.json["imported"] == 1
    contact = cli("contacts", "show", "+442079460123", "--json").json
    assert contact["name"] == "Smith, Ann"
    assert contact["attributes"] == {"notes": "line one\nline two"}
    # the rejected row is numbered by the line it starts on
    assert (tmp_path / "r.csv").read_text(encoding="utf-8-sig").splitlines()[1].startswith("4,invalid_phone")


def test_quotes_inside_a_field_and_text_after_a_closing_quote_are_read_as_before(cli, tmp_path: Path) -> None:
    """Only a quote left open to the end of the file is refused: an inch mark inside an unquoted field, a
    doubled quote and a quoted newline are ordinary CSV (the file has an odd count of quotes)."""
    path = write(
        tmp_path / "q.csv",
        'phone,name,notes\n+442079460123,Al 5" tall,x\n+442079460124,"Bo ""B"" Li","a\nb"\n',
    )
    result = cli("contacts", "import", path, "--json")
    assert result.code == 0, result.stderr
    assert result.json["imported"] == 2
    assert cli("contacts", "show", "+442079460123", "--json").json["name"] == 'Al 5" tall'
    assert cli("contacts", "show", "+442079460124", "--json").json["name"] == 'Bo "B" Li'


def test_map_names_a_column_the_aliases_do_not_know(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "Cell Number,Who,phone\n+447911123456,Ann,ignored\n")
    result = cli("contacts", "import", path, "--map", "Cell Number=phone", "--map", "Who=name", "--json")
    assert result.json["imported"] == 1
    contact = cli("contacts", "show", "+447911123456", "--json").json
    assert contact["name"] == "Ann"
    assert contact["attributes"] == {"phone": "ignored"}


def test_a_bad_map_is_a_usage_error(cli, tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", "phone\n+447911123456\n")
    result = cli("contacts", "import", path, "--map", "phone=mobile")
    assert result.code == 2
    assert cli("contacts", "import", path, "--map", "nope=phone").code == 1


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "blank.csv").write_bytes(b"\n\n  \n")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 10)
    (tmp_path / "sheet.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    write(tmp_path / "nophone.csv", "name,email\nAnn,a@example.com\n")
    rows = [f"+1415555{2000 + i},C{i}" for i in range(50)]
    rows[1] = '+14155552001,"Bob'  # a stray quote: the lenient reader put the 48 rows after it in Bob's name
    write(tmp_path / "stray.csv", "phone,name\n" + "\n".join(rows) + "\n")
    (tmp_path / "folder").mkdir()
    return {
        "missing": (tmp_path / "missing.csv", "no such file"),
        "empty": (tmp_path / "empty.csv", "is empty"),
        "blank": (tmp_path / "blank.csv", "is empty"),
        "binary": (tmp_path / "binary.csv", "binary"),
        "xlsx": (tmp_path / "sheet.xlsx", "save it as CSV"),
        "no phone column": (tmp_path / "nophone.csv", "no phone column"),
        "folder": (tmp_path / "folder", "is a folder"),
        "stray quote": (tmp_path / "stray.csv", "line 3 opens a quoted field that never closes"),
    }


def test_unreadable_inputs_end_in_one_line_exit_1_and_change_nothing(
    cli, tmp_path: Path, db_path: Path
) -> None:
    cli("init")
    before = snapshot(db_path)
    for label, (path, words) in _bad_inputs(tmp_path).items():
        result = cli("contacts", "import", path)
        assert result.code == 1, label
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (label, result.stderr)
        assert lines[0].startswith("cctool: ") and str(path) in lines[0] and words in lines[0], (label, lines)
        assert result.stdout == ""
        assert snapshot(db_path) == before, label


def test_unreadable_input_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    for label, (path, _) in _bad_inputs(tmp_path).items():
        result = run_process("--db", str(tmp_path / "p.db"), "contacts", "import", str(path))
        assert result.code == 1, label
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, (label, result.stderr)


def test_blank_lines_and_empty_spreadsheet_rows_are_not_counted(cli, tmp_path: Path) -> None:
    path = write(
        tmp_path / "excel.csv",
        "phone,name\r\n+447911123456,Ann\r\n\r\n,\r\n , \r\n+442079460123,Bob\r\n,,\r\n",
    )
    result = cli("contacts", "import", path, "--json")
    assert result.json == {
        "read": 2,
        "imported": 2,
        "updated": 0,
        "unchanged": 0,
        "duplicates_in_file": 0,
        "rejected": 0,
    }


def test_a_latin1_file_is_refused_not_read_as_chinese(cli, tmp_path: Path, db_path: Path) -> None:
    """GB18030 decodes most Latin-1 bytes without an error: 'Renée Élise' was stored as 'Ren閑 蒷ise'."""
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Phone,Name\n+14155550181,Renée Élise\n+14155550182,Jérôme\n".encode("cp1252"))
    result = cli("contacts", "import", latin)
    assert result.code == 1 and not db_path.exists()
    assert result.stderr == (
        f"cctool: {latin} looks like Latin-1/Windows-1252 text (accented letters), not GB18030/GBK: "
        "re-save it as UTF-8 CSV\n"
    )


def test_gbk_names_in_traditional_characters_are_still_read_as_chinese(cli, tmp_path: Path) -> None:
    """About one traditional character in five has a second byte that is a Latin letter."""
    names = ["陳大文", "張偉", "黃美玲", "劉嘉豪", "謝淑惠", "鄭誌傑", "王芳", "李娜"]
    rows = "".join(f"+86138001380{i:02d},{name}\n" for i, name in enumerate(names))
    path = tmp_path / "gbk.csv"
    path.write_bytes(("电话,姓名\n" + rows).encode("gb18030"))
    result = cli("contacts", "import", path, "--json")
    assert result.code == 0, result.stderr
    assert result.json["imported"] == len(names)
    assert cli("contacts", "show", "+8613800138002", "--json").json["name"] == "黃美玲"
