"""Campaign files: every error with its line, tightening and audited loosening, versions, pause."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from .campaign_data import EXAMPLES

SURVEY = """\
name: care-call
kind: survey
policy: uk
caller_id: "+442079460000"
segment:
  tags_any: [customer]
hours: {start: "09:00", end: "20:00", days: [mon, tue, wed, thu, fri]}
caps: {per_day: 1, min_gap: 4h}
script: care.j2
"""
CARE_SCRIPT = "Hello {{ contact.name }}, this is {{ agent }} from {{ company }}. How is the service?\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "care.j2").write_text(CARE_SCRIPT, encoding="utf-8")
    return tmp_path


def write(folder: Path, text: str, name: str = "c.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def db_rows(db_path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_every_example_campaign_is_valid(cli) -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        result = cli("campaign", "validate", path, "--json")
        assert result.code == 0, result.stderr
        assert result.json["valid"] is True


def test_validate_lists_every_error_with_file_and_line(cli, folder: Path) -> None:
    bad = write(
        folder,
        """\
name: bad
kind: survey
policy: uk
huors: {start: "09:00"}
hours:
  start: "10:30"
  end: "09:00"
  days: [mon, funday]
caps: {per_day: 1, min_gap: 10x}
script: missing.j2
""",
    )
    result = cli("campaign", "validate", bad)
    assert result.code == 1
    lines = result.stderr.strip().splitlines()
    assert f"{bad}:1: missing caller ID" in lines[0]
    expected = {
        4: "unknown key 'huors'",
        7: "hours end 09:00 is not after start 10:30",
        8: "unknown day 'funday'",
        9: "bad duration '10x'",
        10: "unknown script 'missing.j2'",
    }
    for line, text in expected.items():
        assert any(entry.startswith(f"{bad}:{line}: ") and text in entry for entry in lines), (line, lines)
    assert lines[-1] == f"cctool: {bad}: 6 errors, nothing stored"
    assert "Traceback" not in result.stderr


def test_validate_json_gives_the_errors_as_data(cli, folder: Path) -> None:
    bad = write(folder, SURVEY.replace('caller_id: "+442079460000"\n', ""))
    result = cli("campaign", "validate", bad, "--json")
    assert result.code == 1
    assert result.json == {
        "file": str(bad),
        "valid": False,
        "errors": [{"line": 1, "message": 'missing caller ID: add caller_id: "+14155550100"'}],
    }


def test_a_yaml_syntax_error_names_its_line(cli, folder: Path) -> None:
    bad = write(folder, SURVEY + "dialing: {mode: predictive\n")
    result = cli("campaign", "validate", bad)
    assert result.code == 1 and f"{bad}:11:" in result.stderr and "YAML syntax error" in result.stderr


def test_tightening_a_preset_needs_no_override(cli, folder: Path) -> None:
    tight = write(
        folder, SURVEY.replace('end: "20:00"', 'end: "19:00"') + "dialing: {max_abandon_rate: 0.01}\n"
    )
    result = cli("campaign", "validate", tight, "--json")
    assert result.code == 0, result.stderr
    assert result.json["definition"]["hours"] == {
        "start": "09:00",
        "end": "19:00",
        "days": ["mon", "tue", "wed", "thu", "fri"],
    }
    assert result.json["definition"]["dialing"]["abandon_lock_s"] == 72 * 3600  # uk redial lock inherited
    assert result.json["overrides"] == []


def test_loosening_without_an_override_is_refused_with_its_line(cli, folder: Path) -> None:
    loose = write(folder, SURVEY.replace('end: "20:00"', 'end: "22:00"') + "dialing: {abandon_lock: 1h}\n")
    result = cli("campaign", "validate", loose)
    assert result.code == 1
    assert f"{loose}:7: hours.end 22:00 loosens the uk preset (21:00)" in result.stderr
    assert f"{loose}:10: dialing.abandon_lock 3600s loosens the uk preset (259200s)" in result.stderr


def test_an_override_needs_a_reason_and_is_recorded_with_the_version(
    cli, folder: Path, db_path: Path
) -> None:
    text = SURVEY.replace('end: "20:00"', 'end: "21:30"') + "override:\n  - rule: hours.end\n"
    result = cli("campaign", "validate", write(folder, text))
    assert result.code == 1 and "override of hours.end needs a reason" in result.stderr
    text += "    reason: customers asked for evening calls (ticket 42)\n"
    result = cli("campaign", "load", write(folder, text), "--json")
    assert result.code == 0, result.stderr
    assert result.json["overrides"] == 1
    rows = db_rows(
        db_path, "SELECT campaign, version, rule, preset_value, value, reason FROM campaign_overrides"
    )
    assert rows == [
        ("care-call", 1, "hours.end", "21:00", "21:30", "customers asked for evening calls (ticket 42)")
    ]
    payload = db_rows(db_path, "SELECT payload FROM audit_log WHERE entity = 'campaign' AND action = 'load'")
    assert json.loads(payload[0][0])["overrides"][0]["rule"] == "hours.end"


def test_an_override_that_loosens_nothing_is_an_error(cli, folder: Path) -> None:
    text = SURVEY + "override:\n  - {rule: hours.end, reason: just in case}\n"
    result = cli("campaign", "validate", write(folder, text))
    assert result.code == 1 and ":11: override of hours.end does not loosen anything" in result.stderr


def test_loading_the_same_text_again_adds_nothing(cli, folder: Path, db_path: Path) -> None:
    path = write(folder, SURVEY)
    first = cli("campaign", "load", path, "--json")
    again = cli("campaign", "load", path, "--json")
    assert first.json["added"] is True and again.json["added"] is False
    assert again.json["version"] == 1
    assert db_rows(db_path, "SELECT count(*) FROM campaign_versions") == [(1,)]
    assert db_rows(db_path, "SELECT count(*) FROM audit_log WHERE entity = 'campaign'") == [(1,)]
    changed = cli("campaign", "load", write(folder, SURVEY.replace("per_day: 1", "per_day: 2")), "--json")
    assert changed.json == {**changed.json, "added": True, "version": 2}
    shown = cli("campaign", "show", "care-call", "--json").json
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert shown["definition"]["caps"]["per_day"] == 2
    assert len(shown["sha256"]) == 64 and len(shown["script_sha256"]) == 64
    old = cli("campaign", "show", "care-call", "--version", "1", "--json").json
    assert old["definition"]["caps"]["per_day"] == 1


def test_a_changed_script_makes_a_new_version_with_its_hash(cli, folder: Path, db_path: Path) -> None:
    path = write(folder, SURVEY)
    cli("campaign", "load", path)
    (folder / "care.j2").write_text(CARE_SCRIPT + "Thank you.\n", encoding="utf-8")
    assert cli("campaign", "load", path, "--json").json["version"] == 2
    hashes = db_rows(db_path, "SELECT DISTINCT script_sha256 FROM campaign_versions")
    assert len(hashes) == 2


def test_effective_figures_are_stored_as_columns(cli, folder: Path, db_path: Path) -> None:
    cli("campaign", "load", EXAMPLES / "renewal-us.yaml")
    row = db_rows(
        db_path,
        "SELECT kind, policy, caller_id, hours_start, hours_end, days, cap_per_day, cap_24h, cap_total, min_gap_s,"
        " abandon_cap, abandon_window, abandon_lock_s, registry_max_age_s, dial_mode, script FROM campaign_versions",
    )
    assert row == [
        (
            "marketing",
            "us",
            "+14155550100",
            "09:00",
            "20:00",
            "mon,tue,wed,thu,fri,sat",
            2,
            2,
            6,
            14400,
            0.03,
            "30d",
            0,
            31 * 86400,
            "predictive",
            "renewal.j2",
        )
    ]


def test_list_show_pause_and_resume(cli, folder: Path, db_path: Path) -> None:
    cli("campaign", "load", write(folder, SURVEY))
    assert [c["campaign"] for c in cli("campaign", "list", "--json").json] == ["care-call"]
    assert cli("campaign", "pause", "care-call", "--json").json == {
        "campaign": "care-call",
        "paused": True,
        "changed": True,
    }
    assert cli("campaign", "pause", "care-call", "--json").json["changed"] is False
    assert cli("campaign", "list", "--json").json[0]["paused"] is True
    assert cli("campaign", "resume", "care-call").code == 0
    actions = db_rows(db_path, "SELECT action FROM audit_log WHERE entity = 'campaign' ORDER BY seq")
    assert actions == [("load",), ("pause",), ("resume",)]


@pytest.mark.usefixtures("initialized")
def test_an_unknown_campaign_is_one_line_and_exit_1(cli) -> None:
    for args in (("show", "nope"), ("pause", "nope"), ("preview", "nope")):
        result = cli("campaign", *args)
        assert result.code == 1
        assert (
            result.stderr.strip()
            == "cctool: no campaign named 'nope': load it with `cctool campaign load FILE.yaml`"
        )


def test_a_missing_file_is_one_line(cli, tmp_path: Path) -> None:
    result = cli("campaign", "validate", tmp_path / "none.yaml")
    assert result.code == 1 and result.stderr.count("\n") == 1 and "not found" in result.stderr


def test_a_marketing_script_without_the_disclosures_is_refused_at_load(
    cli, folder: Path, db_path: Path
) -> None:
    (folder / "sell.j2").write_text("Hello {{ contact.name }}, buy our plan!\n", encoding="utf-8")
    text = (
        SURVEY.replace("kind: survey", "kind: marketing").replace("care.j2", "sell.j2")
        + "seller: Acme\npurpose: plan renewal\n"
    )
    result = cli("campaign", "load", write(folder, text))
    assert result.code == 1
    assert "lacks the identity-and-purpose disclosure" in result.stderr
    assert "lacks the opt-out sentence" in result.stderr
    assert not db_path.exists()  # refused before the database is even opened


def test_a_survey_script_may_not_carry_the_marketing_block(cli, folder: Path) -> None:
    (folder / "care.j2").write_text(
        CARE_SCRIPT + "【明确告知营销意图】我们代表{{ seller }}推广{{ purpose }}。\n", encoding="utf-8"
    )
    result = cli("campaign", "validate", write(folder, SURVEY))
    assert result.code == 1 and "line 2 of care.j2" in result.stderr and "must not carry" in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "1: the file is empty"),
        ("- a\n- b\n", "1: a campaign file must be a mapping"),
        ("\ufeffname: x\n", "1: missing kind: give one of marketing, survey, followup"),
        ("name: [unclosed\n", "2: YAML syntax error"),
        # an alias inside itself was a RecursionError (3,000 lines of traceback); aliases of aliases
        # expand to 10**9 values
        ("a: &a [*a]\n", "1: YAML aliases here refer to themselves or expand without end"),
        (
            "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)),
            "1: YAML aliases here refer to themselves or expand without end",
        ),
    ],
)
def test_odd_files_get_a_line_and_no_traceback(cli, folder: Path, content: str, expected: str) -> None:
    path = write(folder, content)
    result = cli("campaign", "validate", path)
    assert result.code == 1 and f"{path}:{expected}" in result.stderr and "Traceback" not in result.stderr


def test_human_output_of_validate_show_and_list(cli, folder: Path) -> None:
    text = (
        SURVEY.replace('end: "20:00"', 'end: "21:30"')
        + "override:\n  - {rule: hours.end, reason: panel asked}\n"
    )
    path = write(folder, text)
    shown = cli("campaign", "validate", path)
    said = " ".join(shown.stdout.split())  # rich wraps lines to the terminal width
    assert shown.code == 0 and "valid survey campaign 'care-call' under the uk preset" in said
    assert "override hours.end: 21:00 -> 21:30 (panel asked)" in said
    cli("campaign", "load", path)
    show = cli("campaign", "show", "care-call")
    said = " ".join(show.stdout.split())
    assert show.code == 0 and "hours 09:00-21:30 on mon, tue, wed, thu, fri" in said
    assert "override hours.end: 21:00 -> 21:30 (panel asked)" in said
    assert cli("campaign", "list").code == 0


def test_a_real_process_reports_errors_without_a_traceback(folder: Path, tmp_path: Path) -> None:
    from .conftest import run_process

    bad = write(folder, SURVEY.replace("min_gap: 4h", "min_gap: 10x"))
    result = run_process("--db", str(tmp_path / "p.db"), "campaign", "validate", str(bad))
    assert result.code == 1
    assert result.stderr.splitlines() == [
        f"{bad}:8: bad duration '10x' for caps.min_gap: use a number and a unit s, m, h or d (e.g. 30s, 10m, 2h, 1d)",
        f"cctool: {bad}: 1 error, nothing stored",
    ]
    assert result.stdout == ""


def test_a_segment_region_or_number_type_no_contact_can_have_is_an_error_with_its_line(
    cli, folder: Path
) -> None:
    """`region: UK` (the ISO code is GB) was valid and selected nobody: the campaign loaded and never dialed."""
    bad = write(folder, SURVEY.replace("  tags_any: [customer]\n", "  tags_any: [customer]\n  region: UK\n"))
    result = cli("campaign", "validate", bad)
    assert result.code == 1
    assert f"{bad}:7: region 'UK' is not a two-letter country code: did you mean GB?" in result.stderr
    typo = write(folder, SURVEY.replace("  tags_any: [customer]\n", "  number_type: [mobile, cell]\n"))
    result = cli("campaign", "validate", typo)
    assert result.code == 1 and f"{typo}:6: number_type 'cell' is not one of mobile, fixed" in result.stderr
    good = write(
        folder, SURVEY.replace("  tags_any: [customer]\n", "  region: [gb]\n  number_type: mobile\n")
    )
    assert cli("campaign", "validate", good).code == 0


def test_an_unquoted_caller_id_says_to_quote_it(cli, folder: Path) -> None:
    """YAML reads `caller_id: +442079460000` as a number and drops the +; the error named a number the
    user never wrote ('caller ID 442079460000 is not a valid number in +country format')."""
    bad = write(folder, SURVEY.replace('caller_id: "+442079460000"', "caller_id: +442079460000"))
    result = cli("campaign", "validate", bad)
    assert result.code == 1
    assert (
        f"{bad}:4: caller ID 442079460000 was read by YAML as a number, without its +: quote it, "
        'caller_id: "+442079460000"'
    ) in result.stderr


def test_a_script_saved_in_gb18030_is_an_error_with_its_line_and_a_bom_is_dropped(
    cli, folder: Path, db_path: Path
) -> None:
    """A script saved as GB18030 by a Chinese Windows editor ended `campaign validate` in a traceback."""
    (folder / "care.j2").write_bytes("您好 {{ agent }}，满意吗？\n".encode("gb18030"))
    bad = write(folder, SURVEY)
    result = cli("campaign", "validate", bad)
    assert result.code == 1 and "Traceback" not in result.stderr
    assert f"{bad}:9: script care.j2 is not UTF-8 text (a GB18030/GBK or ANSI file?): save it as UTF-8" in (
        result.stderr
    )
    (folder / "care.j2").write_bytes("您好 {{ agent }}，满意吗？\n".encode("utf-8-sig"))
    assert cli("campaign", "load", bad).code == 0
    assert db_rows(db_path, "SELECT script_text FROM campaign_versions") == [
        ("您好 {{ agent }}，满意吗？\n",)
    ]


def test_an_unknown_policy_is_one_error_not_also_loosenings_of_a_preset_never_named(
    cli, folder: Path
) -> None:
    """`policy: US` also reported 'dialing.abandon_window 30d loosens the strict preset (day)': a preset the
    file never named."""
    text = (EXAMPLES / "renewal-us.yaml").read_text(encoding="utf-8").replace("policy: us", "policy: US")
    result = cli("campaign", "validate", write(folder, text), "--json")
    assert result.code == 1
    assert result.json["errors"] == [{"line": 4, "message": "policy 'US' is not one of us, uk, cn, strict"}]


def test_a_script_given_as_a_path_says_paths_are_not_allowed(cli, folder: Path) -> None:
    """`script: scripts/care.j2` pointed at a file that exists, and was told 'no such file'."""
    (folder / "scripts").mkdir()
    (folder / "scripts" / "care.j2").write_text(CARE_SCRIPT, encoding="utf-8")
    bad = write(folder, SURVEY.replace("script: care.j2", "script: scripts/care.j2"))
    result = cli("campaign", "validate", bad)
    assert result.code == 1
    assert f"{bad}:9: script 'scripts/care.j2' must be a bare file name such as 'care.j2'" in result.stderr


def test_a_campaign_file_saved_in_gb18030_or_a_folder_is_one_plain_line(cli, folder: Path) -> None:
    """The messages were Python's: "'utf-8' codec can't decode byte 0xca in position 52" and
    "[Errno 21] Is a directory"."""
    gbk = folder / "gbk.yaml"
    gbk.write_bytes(SURVEY.replace("name: care-call", "name: care-call\nseller: 示例电信").encode("gb18030"))
    result = cli("campaign", "validate", gbk)
    assert result.code == 1
    assert result.stderr.strip() == (
        f"cctool: campaign file {gbk} is not UTF-8 text (a GB18030/GBK or ANSI file?): save it as UTF-8"
    )
    result = cli("campaign", "load", folder)
    assert result.stderr.strip() == f"cctool: campaign file {folder} is a folder: give the .yaml file"


def test_an_unquoted_date_in_the_segment_is_loaded_as_written(cli, folder: Path) -> None:
    """YAML makes `imported_before: 2026-06-01` a date object: storing the definition as JSON crashed
    `campaign validate` and `load` with a traceback, though the docs give dates unquoted."""
    text = SURVEY.replace(
        "  tags_any: [customer]\n", "  tags_any: [customer]\n  imported_before: 2026-06-01\n"
    )
    path = write(folder, text)
    assert cli("campaign", "validate", path).code == 0
    assert cli("campaign", "load", path).code == 0
    shown = cli("campaign", "show", "care-call", "--json").json
    assert shown["definition"]["segment"]["imported_before"] == "2026-06-01"


def test_a_date_that_does_not_exist_is_one_error_with_its_line(cli, folder: Path, db_path: Path) -> None:
    text = SURVEY.replace(
        "  tags_any: [customer]\n", "  tags_any: [customer]\n  imported_after: 2026-13-01\n"
    )
    result = cli("campaign", "load", write(folder, text))
    assert result.code == 1
    assert ":7: imported_after '2026-13-01' is not a date: use YYYY-MM-DD" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 2
    assert not db_path.exists()  # a first load that fails leaves no database behind


def test_the_campaign_file_shown_in_the_docs_is_valid(cli, tmp_path: Path) -> None:
    """docs/campaigns.md's example is what users copy: it carried two errors (a survey-only key on a
    marketing campaign, an override that loosened nothing)."""
    docs = Path(__file__).resolve().parent.parent / "docs" / "campaigns.md"
    example = docs.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    result = cli("campaign", "validate", write(tmp_path, example))
    assert result.code == 0, result.stderr


def test_figures_too_large_to_use_are_errors_with_their_lines(cli, folder: Path, db_path: Path) -> None:
    """`min_gap: 3000000d` was valid, then preview and dial run crashed computing a time past 9999; a
    per-day cap past 2**63 crashed the load."""
    text = SURVEY.replace(
        "caps: {per_day: 1, min_gap: 4h}", "caps: {per_day: 99999999999999999999999, min_gap: 3000000d}"
    )
    result = cli("campaign", "load", write(folder, text))
    assert result.code == 1
    assert ":8: caps.per_day must be a whole number from 1 to 1,000,000 (or null)" in result.stderr
    assert ":8: caps.min_gap '3000000d' is too long: at most 3650d" in result.stderr
    assert "Traceback" not in result.stderr and not db_path.exists()
    assert (
        cli("campaign", "validate", write(folder, SURVEY.replace("min_gap: 4h", "min_gap: 3650d"))).code == 0
    )
