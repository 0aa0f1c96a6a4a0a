"""The auditor's re-check reads only exported rows and finds each kind of violation planted in them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cctool.masking import PhoneRef, mask_name, mask_phone
from cctool.recheck import recheck

CAMPAIGN = {
    "campaign": "renewal",
    "version": "1",
    "kind": "marketing",
    "policy": "us",
    "hours_start": "09:00",
    "hours_end": "20:00",
    "days": "mon,tue,wed,thu,fri,sat",
    "cap_per_day": "2",
    "cap_24h": "2",
    "cap_total": "4",
    "min_gap_s": "3600",
    "abandon_cap": "0.03",
    "abandon_window": "30d",
}
REF = "ref-alice"


def _write(folder: Path, name: str, rows: list[dict[str, str]]) -> None:
    with (folder / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["x"])
        writer.writeheader()
        writer.writerows(rows)


def _attempt(n: int, started_at: str, outcome: str = "answered", **extra: str) -> dict[str, str]:
    row = {
        "attempt_id": str(n),
        "campaign": "renewal",
        "campaign_version": "1",
        "phone": "+1 212***0123",
        "phone_ref": REF,
        "started_at": started_at,
        "zones": "America/New_York",
        "outcome": outcome,
        "registry_version": "2026-11",
        "callback_requested": "0",
    }
    row.update(extra)
    return row


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _write(tmp_path, "campaigns.csv", [CAMPAIGN])
    _write(
        tmp_path,
        "consents.csv",
        [{"phone_ref": REF, "purpose": "marketing", "action": "grant", "given_at": "2026-01-01T00:00:00Z"}],
    )
    for name in ("optouts.csv", "dnc_internal.csv", "dnc_national_matches.csv"):
        (tmp_path / name).write_text(
            {
                "optouts.csv": "phone_ref,effective_at\n",
                "dnc_internal.csv": "phone_ref,added_at,removed_at\n",
                "dnc_national_matches.csv": "phone_ref,registry_version\n",
            }[name]
        )
    return tmp_path


def test_a_clean_export_has_no_violations(folder: Path) -> None:
    # Monday 2026-11-23, 10:00 and 14:00 in New York (UTC-5)
    _write(folder, "attempts.csv", [_attempt(1, "2026-11-23T15:00:00Z"), _attempt(2, "2026-11-23T19:00:00Z")])
    assert recheck(folder) == []


def test_a_call_before_nine_in_the_callees_zone_is_found(folder: Path) -> None:
    _write(folder, "attempts.csv", [_attempt(1, "2026-11-23T13:30:00Z")])  # 08:30 in New York
    assert [v["rule"] for v in recheck(folder)] == ["hours"]


def test_a_sunday_call_is_found(folder: Path) -> None:
    _write(folder, "attempts.csv", [_attempt(1, "2026-11-22T16:00:00Z")])  # Sunday 11:00
    assert [v["rule"] for v in recheck(folder)] == ["hours"]


def test_a_call_after_an_optout_is_found(folder: Path) -> None:
    _write(folder, "optouts.csv", [{"phone_ref": REF, "effective_at": "2026-11-23T14:00:00Z"}])
    _write(folder, "attempts.csv", [_attempt(1, "2026-11-23T15:00:00Z")])
    assert [v["rule"] for v in recheck(folder)] == ["opted_out"]


def test_internal_dnc_counts_only_while_the_entry_was_open(folder: Path) -> None:
    _write(
        folder,
        "dnc_internal.csv",
        [{"phone_ref": REF, "added_at": "2026-11-23T14:00:00Z", "removed_at": "2026-11-23T16:00:00Z"}],
    )
    _write(folder, "attempts.csv", [_attempt(1, "2026-11-23T15:00:00Z"), _attempt(2, "2026-11-23T19:00:00Z")])
    assert [(v["rule"], v["attempt_id"]) for v in recheck(folder)] == [("dnc_internal", "1")]


def test_a_marketing_call_to_a_registry_number_is_found(folder: Path) -> None:
    _write(folder, "dnc_national_matches.csv", [{"phone_ref": REF, "registry_version": "2026-11"}])
    _write(folder, "attempts.csv", [_attempt(1, "2026-11-23T15:00:00Z")])
    assert [v["rule"] for v in recheck(folder)] == ["dnc_national"]


def test_a_marketing_call_after_consent_was_revoked_is_found(folder: Path) -> None:
    _write(
        folder,
        "consents.csv",
        [
            {"phone_ref": REF, "purpose": "marketing", "action": "grant", "given_at": "2026-01-01T00:00:00Z"},
            {
                "phone_ref": REF,
                "purpose": "marketing",
                "action": "revoke",
                "given_at": "2026-11-23T14:59:00Z",
            },
        ],
    )
    _write(folder, "attempts.csv", [_attempt(1, "2026-11-23T15:00:00Z")])
    assert [v["rule"] for v in recheck(folder)] == ["no_consent"]


def test_caps_and_gaps_are_counted_per_contact(folder: Path) -> None:
    times = ["2026-11-23T15:00:00Z", "2026-11-23T15:30:00Z", "2026-11-23T20:00:00Z"]
    _write(folder, "attempts.csv", [_attempt(i, t, "no_answer") for i, t in enumerate(times, 1)])
    rules = sorted(v["rule"] for v in recheck(folder))
    assert rules == ["cap_24h", "cap_day", "min_gap"]


def test_abandonment_over_the_cap_in_a_window_is_found(folder: Path) -> None:
    rows = [
        _attempt(i, f"2026-11-23T{15 + i // 60:02d}:{i % 60:02d}:00Z", phone_ref=f"r{i}") for i in range(30)
    ]
    rows[0]["outcome"] = "abandoned"  # 1 / 30 = 3.3 % > 3 %
    _write(
        folder,
        "consents.csv",
        [
            {
                "phone_ref": f"r{i}",
                "purpose": "marketing",
                "action": "grant",
                "given_at": "2026-01-01T00:00:00Z",
            }
            for i in range(30)
        ],
    )
    _write(folder, "attempts.csv", rows)
    assert [v["rule"] for v in recheck(folder)] == ["abandon_rate"]


def test_numbers_are_masked_keeping_country_code_and_ends() -> None:
    assert mask_phone("+8613800135678") == "+86 138****5678"
    assert mask_phone("+12125550123") == "+1 212***0123"
    assert mask_name("John Smith") == "J."
    assert mask_name("张伟") == "张."


def test_phone_references_link_rows_without_revealing_the_number() -> None:
    ref = PhoneRef(b"k" * 32)
    assert ref("+12125550123") == ref("+12125550123") != ref("+12125550124")
    assert "2125550123" not in ref("+12125550123")
    assert PhoneRef(b"j" * 32)("+12125550123") != ref("+12125550123")
