"""Listings stay usable on a large database: a person sees the first 100 rows and how many more there
are; a script (--json) gets every row unless it asks for fewer."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def contacts_150(cli, tmp_path: Path) -> None:
    rows = "".join(f"Person {i},+1202555{i:04d},US\n" for i in range(150))
    (tmp_path / "crm.csv").write_text("name,phone,region\n" + rows)
    assert cli("contacts", "import", str(tmp_path / "crm.csv")).code == 0


@pytest.mark.usefixtures("contacts_150")
def test_a_person_sees_the_first_100_contacts_and_how_many_were_left_out(cli) -> None:
    result = cli("contacts", "list")
    assert result.code == 0
    assert "150 contacts" in result.stdout  # the title counts them all
    assert "+12025550099" in result.stdout and "+12025550100" not in result.stdout
    assert "50 more not shown: --limit N for N, --limit 0 for all" in result.stdout
    everyone = cli("contacts", "list", "--limit", "0")
    assert "+12025550149" in everyone.stdout and "not shown" not in everyone.stdout


@pytest.mark.usefixtures("contacts_150")
def test_a_script_gets_every_contact_unless_it_asks_for_fewer(cli) -> None:
    assert len(cli("contacts", "list", "--json").json) == 150
    assert [c["phone"] for c in cli("contacts", "list", "--json", "--limit", "3").json] == [
        "+12025550000",
        "+12025550001",
        "+12025550002",
    ]


@pytest.mark.usefixtures("contacts_150")
def test_the_audit_log_shows_its_latest_rows_first_of_all(cli) -> None:
    """The log's newest rows are the ones a person looks for: --limit keeps the last N, and the default
    on a terminal is the last 100, saying how many earlier rows it left out."""
    for i in range(120):  # 120 opt-outs: 120 more rows in the log
        assert cli("optout", f"+1202555{i:04d}").code == 0
    every = [r["seq"] for r in cli("audit", "log", "--json").json]
    assert len(every) > 120
    assert [r["seq"] for r in cli("audit", "log", "--json", "--limit", "2").json] == every[-2:]
    shown = cli("audit", "log").stdout
    assert f"{len(every) - 100} earlier not shown" in shown
    assert f" {every[-1]} " in shown and f" {every[-101]} " not in shown


def test_a_negative_limit_is_a_usage_error(cli) -> None:
    cli("init")
    for args in (["contacts", "list"], ["ticket", "list"], ["callback", "list"], ["audit", "log"]):
        assert cli(*args, "--limit", "-1").code == 2, args
