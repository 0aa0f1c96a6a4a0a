"""--region as an operator types it: national numbers on every command that takes a number, and a code
that is not a country (`UK`) stopped with one line instead of rejecting every row as 'invalid_phone'."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("initialized")  # each test starts from `cctool init`

UK_MOBILE = "07911 123456"
UK_E164 = "+447911123456"


def _count(db_path: Path, table: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.mark.parametrize(
    "args",
    [
        ("optout", UK_MOBILE),
        ("dnc", "add", UK_MOBILE),
        ("dnc", "check", UK_MOBILE),
        ("consent", "grant", UK_MOBILE, "--purpose", "marketing", "--source", "call"),
        ("consent", "show", UK_MOBILE),
    ],
)
def test_a_national_number_works_with_region_on_every_command_that_takes_one(cli, args) -> None:
    done = cli("--json", *args, "--region", "GB")
    assert done.code == 0, done.stderr
    assert done.json["phone"] == UK_E164


def test_the_hint_to_give_region_names_an_option_the_command_has(cli) -> None:
    refused = cli("optout", UK_MOBILE)
    assert refused.code == 1 and "--region" in refused.stderr
    assert cli("optout", UK_MOBILE, "--region", "gb").code == 0


def test_import_with_region_uk_is_a_usage_error_naming_gb_and_writes_nothing(cli, tmp_path, db_path) -> None:
    cli("init")
    crm = tmp_path / "crm.csv"
    crm.write_text("phone,name\n07911 123456,Bob\n020 7946 0958,Al\n", encoding="utf-8")
    refused = cli("contacts", "import", crm, "--region", "UK")
    assert refused.code == 2
    assert refused.stderr.strip() == (
        "cctool: --region 'UK' is not a two-letter country code phonenumbers knows: did you mean GB?"
    )
    assert _count(db_path, "imports") == 0 and not (tmp_path / "crm.rejects.csv").exists()
    assert cli("--json", "contacts", "import", crm, "--region", "GB").json["imported"] == 2


@pytest.mark.parametrize(
    "args",
    [
        ("optout", UK_MOBILE, "--region", "XX"),
        ("ticket", "new", "--phone", UK_MOBILE, "--kind", "inquiry", "--subject", "x", "--region", "ZZ"),
        ("dnc", "check", UK_MOBILE, "--region", "England"),
    ],
)
def test_an_unknown_region_is_a_usage_error_on_any_command(cli, args) -> None:
    refused = cli(*args)
    assert refused.code == 2
    assert "is not a two-letter country code" in refused.stderr and "Traceback" not in refused.stderr
