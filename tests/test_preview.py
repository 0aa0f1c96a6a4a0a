"""Preview: who in the segment could be dialed at T, and why the others could not."""

from __future__ import annotations

from datetime import UTC, datetime

from cctool.store import Store

from .campaign_data import EXAMPLES, add_contact, consent, optout, registry

# Tuesday 2026-12-01 12:00 in New York (09:00 in Los Angeles)
NOON_NY = "2026-12-01T17:00:00Z"


def setup_renewal(cli, store: Store) -> dict[str, int]:
    assert cli("campaign", "load", EXAMPLES / "renewal-us.yaml").code == 0
    people = {
        "ann": add_contact(store, "+14155552671", tags=["renewal-due"]),  # Los Angeles
        "bob": add_contact(store, "+12125550123", tags=["renewal-due"]),  # New York
        "cat": add_contact(store, "+12125550124", tags=["renewal-due"]),
        "vip": add_contact(store, "+12125550125", tags=["renewal-due", "vip"]),  # outside the segment
    }
    for phone in ("+14155552671", "+12125550123", "+12125550124"):
        consent(store, phone, datetime(2026, 1, 1, tzinfo=UTC))
    registry(store, "2026-11-20")
    optout(store, "+12125550124", datetime(2026, 11, 30, tzinfo=UTC))
    return people


def test_preview_json_counts_dialable_and_blocked_by_reason(cli, store: Store) -> None:
    setup_renewal(cli, store)
    doc = cli("campaign", "preview", "broadband-renewal-2026q4", "--at", NOON_NY, "--json").json
    assert doc == {
        "campaign": "broadband-renewal-2026q4",
        "version": 1,
        "at": NOON_NY,
        "in_segment": 3,
        "dialable": 2,
        "blocked": {"opted_out": 1},
        "next_open_at": None,
        "contacts": [],
    }


def test_preview_early_morning_says_when_the_window_opens(cli, store: Store) -> None:
    setup_renewal(cli, store)
    # 13:30 UTC = 08:30 New York, 05:30 Los Angeles; the campaign calls from 09:00
    doc = cli(
        "campaign",
        "preview",
        "broadband-renewal-2026q4",
        "--at",
        "2026-12-01T13:30:00Z",
        "--contacts",
        "--json",
    ).json
    assert doc["dialable"] == 0
    assert doc["blocked"] == {"outside_hours": 3, "opted_out": 1}  # reasons are counted one by one
    assert doc["next_open_at"] == "2026-12-01T14:00:00Z"
    by_phone = {c["phone"]: c for c in doc["contacts"]}
    assert by_phone["+12125550123"] == {
        "phone": "+12125550123",
        "allowed": False,
        "reasons": ["outside_hours"],
        "next_allowed_at": "2026-12-01T14:00:00Z",
    }
    assert by_phone["+14155552671"]["next_allowed_at"] == "2026-12-01T17:00:00Z"
    assert by_phone["+12125550124"] == {
        "phone": "+12125550124",
        "allowed": False,
        "reasons": ["outside_hours", "opted_out"],
        "next_allowed_at": None,
    }


def test_preview_judges_current_records_with_the_clock_at_a_past_time(cli, store: Store) -> None:
    setup_renewal(cli, store)
    # an opt-out recorded after T still counts: "if we dialed at T with what we know now"
    doc = cli(
        "campaign", "preview", "broadband-renewal-2026q4", "--at", "2026-11-24T17:00:00Z", "--json"
    ).json
    assert doc["blocked"] == {"opted_out": 1}


def test_preview_of_a_paused_campaign_blocks_everyone(cli, store: Store) -> None:
    setup_renewal(cli, store)
    cli("campaign", "pause", "broadband-renewal-2026q4")
    doc = cli("campaign", "preview", "broadband-renewal-2026q4", "--at", NOON_NY, "--json").json
    assert doc["dialable"] == 0 and doc["blocked"]["campaign_paused"] == 3


def test_preview_human_output_and_bad_time(cli, store: Store) -> None:
    setup_renewal(cli, store)
    result = cli("campaign", "preview", "broadband-renewal-2026q4", "--at", NOON_NY)
    assert result.code == 0 and "2 of 3 dialable" in result.stdout and "opted_out" in result.stdout
    bad = cli("campaign", "preview", "broadband-renewal-2026q4", "--at", "tomorrow-ish")
    assert bad.code == 2 and bad.stderr.startswith("cctool: --at 'tomorrow-ish' is not a time")


def test_demo_step_loads_every_example_and_previews_it(store: Store, tmp_path) -> None:
    from cctool.campaign_demo import demo

    said: list[str] = []
    demo(store, tmp_path, said.append)
    names = [r[0] for r in store.conn.execute("SELECT name FROM campaigns ORDER BY name")]
    assert names == [
        "broadband-renewal-2026q4",
        "complaint-followup-cn",
        "new-customer-care-uk",
        "satisfaction-survey-cn",
    ]
    assert sum("preview now:" in line for line in said) == 4


def test_a_preview_of_an_empty_segment_says_which_filters_matched_nobody(cli) -> None:
    """'0 of 0 dialable' was all an operator saw when no contact carried the campaign's tags."""
    cli("campaign", "load", EXAMPLES / "renewal-us.yaml")
    shown = cli("campaign", "preview", "broadband-renewal-2026q4", "--at", "2026-11-24T15:00Z")
    assert shown.code == 0
    said = " ".join(shown.stdout.split())
    assert "0 of 0 dialable" in said and "no contact is in the segment" in said and '"renewal-due"' in said
