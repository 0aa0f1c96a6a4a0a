"""Callbacks through the CLI: scheduling inside calling hours, what cron sees as due, claiming, grace."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cctool import callbacks
from cctool.errors import UserError
from cctool.store import open_store

from .test_tickets import add_campaign

pytestmark = pytest.mark.usefixtures("initialized")  # each test starts from `cctool init`

NOW = "2026-12-01T02:00:00Z"  # 10:00 Tuesday in Shanghai, 02:00 in London
CN = "+8613800138003"
UK = "+442079460000"


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCTOOL_NOW", NOW)


def schedule(cli, *args: str, phone: str = CN) -> dict:
    result = cli("callback", "schedule", phone, *args, "--json")
    assert result.code == 0, result.stderr
    return result.json


def test_a_callback_is_scheduled_in_the_contacts_own_zone(cli) -> None:
    callback = schedule(cli, "--at", "2026-12-01T15:00", "--note", "call about the bill")
    assert callback["due_at"] == "2026-12-01T07:00:00Z" and callback["tz"] == "Asia/Shanghai"
    assert callback["status"] == "scheduled" and callback["owner"] is None
    utc = schedule(cli, "--at", "2026-12-01T03:00", "--tz", "UTC")
    assert utc["due_at"] == "2026-12-01T03:00:00Z"


def test_a_time_in_the_past_is_refused(cli, db_path: Path) -> None:
    result = cli("callback", "schedule", CN, "--at", "2026-12-01T01:00Z")
    assert result.code == 1 and "is in the past" in result.stderr
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM callbacks").fetchone()[0] == 0


def test_outside_calling_hours_is_refused_with_the_next_allowed_time(cli) -> None:
    result = cli("callback", "schedule", CN, "--at", "2026-12-01T22:30")  # 22:30 Shanghai
    assert result.code == 1
    assert "outside calling hours 09:00-21:00 (policy cn)" in result.stderr
    assert "next allowed time 2026-12-02T01:00:00Z" in result.stderr
    assert "--requested-by-customer" in result.stderr
    uk = cli("callback", "schedule", UK, "--at", "2026-12-01T07:30")  # London, before 08:00
    assert uk.code == 1 and "next allowed time 2026-12-01T08:00:00Z" in uk.stderr


def test_the_customers_own_request_is_allowed_outside_hours_and_recorded(cli) -> None:
    callback = schedule(cli, "--at", "2026-12-01T22:30", "--requested-by-customer")
    assert callback["requested_by_customer"] is True
    schedule_rows = [r for r in cli("audit", "log", "--json").json if r["action"] == "schedule"]
    assert '"requested_by_customer":true' in schedule_rows[0]["payload"]


def test_a_campaigns_hours_and_days_apply(cli, db_path: Path) -> None:
    add_campaign(db_path, "care-2026", None)  # 09:00-20:00 mon-fri, cn
    late = cli("callback", "schedule", CN, "--at", "2026-12-01T20:30", "--campaign", "care-2026")
    assert late.code == 1 and "09:00-20:00 mon,tue,wed,thu,fri (campaign care-2026)" in late.stderr
    saturday = cli("callback", "schedule", CN, "--at", "2026-12-05T10:00", "--campaign", "care-2026")
    assert saturday.code == 1 and "next allowed time 2026-12-07T01:00:00Z" in saturday.stderr
    assert cli("callback", "schedule", CN, "--at", "2026-12-02T10:00", "--campaign", "nope").code == 1


def test_a_callback_for_a_ticket_is_linked_both_ways(cli) -> None:
    cli("ticket", "new", "--phone", CN, "--kind", "order", "--subject", "Router delivery")
    callback = schedule(cli, "--at", "2026-12-02T10:00", "--ticket", "1")
    assert callback["ticket"] == 1
    events = cli("ticket", "show", "1", "--json").json["events"]
    assert events[-1]["ref"] == {"callback": callback["id"]}
    other = cli("callback", "schedule", UK, "--at", "2026-12-02T10:00", "--ticket", "1")
    assert other.code == 1 and "ticket 1 is for +8613800138003" in other.stderr


def test_due_lists_what_is_due_oldest_first_in_a_stable_shape(cli) -> None:
    schedule(cli, "--at", "2026-12-01T12:00", "--owner", "li", "--note", "second")
    schedule(cli, "--at", "2026-12-01T11:00", "--note", "first")
    schedule(cli, "--at", "2026-12-02T11:00")
    first = cli("callback", "due", "--at", "2026-12-01T05:00Z", "--json")
    assert first.code == 0
    assert first.json == [
        {"id": 2, "phone": CN, "due_at": "2026-12-01T03:00:00Z", "owner": None, "campaign": None, "ticket": None,
         "note": "first"},
        {"id": 1, "phone": CN, "due_at": "2026-12-01T04:00:00Z", "owner": "li", "campaign": None, "ticket": None,
         "note": "second"},
    ]  # fmt: skip
    assert cli("callback", "due", "--at", "2026-12-01T05:00Z", "--json").stdout == first.stdout
    assert cli("callback", "due", "--json").json == []  # nothing is due at NOW


def test_due_for_an_owner_shows_what_that_agent_may_claim(cli) -> None:
    schedule(cli, "--at", "2026-12-01T11:00", "--owner", "li")
    schedule(cli, "--at", "2026-12-01T11:00")
    ids = lambda at, who: [c["id"] for c in cli("callback", "due", "--at", at, "--owner", who, "--json").json]  # noqa: E731
    assert ids("2026-12-01T03:10Z", "wang") == [2]
    assert ids("2026-12-01T03:10Z", "li") == [1, 2]
    assert ids("2026-12-01T03:30Z", "wang") == [1, 2]  # li's grace (30m) has passed


def test_claim_done_and_the_history_on_the_ticket(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("ticket", "new", "--phone", CN, "--kind", "complaint", "--subject", "Outage")
    schedule(cli, "--at", "2026-12-01T11:00", "--ticket", "1")
    monkeypatch.setenv("CCTOOL_NOW", "2026-12-01T03:05:00Z")
    claimed = cli("callback", "claim", "1", "--as", "li", "--json").json
    assert claimed["status"] == "claimed" and claimed["claimed_by"] == "li"
    again = cli("callback", "claim", "1", "--as", "wang")
    assert (
        again.code == 1
        and again.stderr == "cctool: callback 1 was already claimed by li at 2026-12-01T03:05:00Z\n"
    )
    assert cli("callback", "due", "--json").json == []
    stolen = cli("callback", "done", "1", "--outcome", "reached", "--as", "wang")
    assert stolen.code == 1 and "claimed by li" in stolen.stderr
    done = cli(
        "callback", "done", "1", "--outcome", "reached", "--satisfaction", "95", "--as", "li", "--json"
    )
    assert done.json["status"] == "done" and done.json["outcome"] == "reached"
    ticket = cli("ticket", "show", "1", "--json").json
    assert ticket["satisfaction"] == 95
    assert ticket["events"][-2]["note"] == "callback done: reached"
    assert ticket["events"][-1]["ref"] == {"callback": 1}
    assert cli("callback", "done", "1", "--outcome", "reached", "--as", "li").code == 1


def test_an_agent_who_cannot_reach_the_customer_puts_the_callback_back_for_anyone(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("ticket", "new", "--phone", CN, "--kind", "complaint", "--subject", "Outage")
    schedule(cli, "--at", "2026-12-01T11:00", "--ticket", "1")
    monkeypatch.setenv("CCTOOL_NOW", "2026-12-01T03:05:00Z")
    cli("callback", "claim", "1", "--as", "li")
    other = cli("callback", "release", "1", "--outcome", "no_answer", "--as", "wang")
    assert other.code == 1 and other.stderr.count("\n") == 1 and "claimed by li" in other.stderr
    back = cli("callback", "release", "1", "--outcome", "no_answer", "--as", "li", "--json")
    assert back.code == 0 and back.json["status"] == "scheduled" and back.json["claimed_by"] is None
    assert [c["id"] for c in cli("callback", "due", "--json").json] == [1]
    assert (
        cli("ticket", "show", "1", "--json")
        .json["events"][-1]["note"]
        .startswith("callback tried: no_answer")
    )
    assert cli("callback", "claim", "1", "--as", "wang").code == 0


def test_an_owner_only_callback_becomes_claimable_by_anyone_after_the_grace(cli, monkeypatch) -> None:
    schedule(cli, "--at", "2026-12-01T11:00", "--owner", "li")  # due 03:00Z
    monkeypatch.setenv("CCTOOL_NOW", "2026-12-01T03:10:00Z")
    early = cli("callback", "claim", "1", "--as", "wang")
    assert early.code == 1 and "belongs to li until 2026-12-01T03:30:00Z" in early.stderr
    monkeypatch.setenv("CCTOOL_NOW", "2026-12-01T03:30:00Z")
    assert cli("callback", "claim", "1", "--as", "wang").code == 0


def test_a_callback_not_done_within_the_missed_grace_is_marked_missed(cli, monkeypatch) -> None:
    assert cli("callback", "grace", "--owner", "10m", "--missed", "2h", "--json").json == {
        "owner_grace": "10m",
        "missed_grace": "2h",
    }
    schedule(cli, "--at", "2026-12-01T11:00")  # due 03:00Z
    monkeypatch.setenv("CCTOOL_NOW", "2026-12-01T05:01:00Z")
    refused = cli("callback", "claim", "1", "--as", "li")
    assert refused.code == 1 and "missed grace" in refused.stderr
    assert cli("callback", "due", "--json").json == []
    assert cli("callback", "list", "--status", "missed", "--json").json[0]["id"] == 1
    cli("callback", "due")
    missed_rows = [r for r in cli("audit", "log", "--json").json if r["action"] == "missed"]
    assert len(missed_rows) == 1  # marking is idempotent


def test_grace_periods_are_checked(cli) -> None:
    refused = cli("callback", "grace", "--owner", "2d")
    assert refused.code == 1 and "must be longer than callbacks.owner_grace" in refused.stderr
    assert cli("callback", "grace", "--missed", "later").code == 2
    too_long = cli("callback", "grace", "--missed", "9999999d")  # then every `callback due` overflowed
    assert too_long.code == 2 and "at most 3650d" in too_long.stderr
    assert cli("callback", "due", "--json").code == 0


def test_cancel_and_list_by_status(cli) -> None:
    schedule(cli, "--at", "2026-12-01T11:00")
    schedule(cli, "--at", "2026-12-01T12:00")
    assert (
        cli("callback", "cancel", "1", "--note", "customer called in", "--json").json["status"] == "cancelled"
    )
    assert cli("callback", "cancel", "1").code == 1
    assert [c["id"] for c in cli("callback", "list", "--status", "scheduled", "--json").json] == [2]
    assert [c["id"] for c in cli("callback", "list", "--status", "cancelled", "--json").json] == [1]
    assert cli("callback", "list", "--status", "gone").code == 1
    assert cli("callback", "claim", "1", "--as", "li").code == 1
    assert cli("callback", "claim", "99").stderr == "cctool: no callback 99: see `cctool callback list`\n"


def test_the_dialer_entry_points(store, monkeypatch) -> None:
    at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    first = callbacks.schedule(store, CN, "2026-12-01T11:00", at=at)
    later = datetime(2026, 12, 1, 3, 1, tzinfo=UTC)
    assert [c["id"] for c in callbacks.due_callbacks(store.conn, later)] == [first["id"]]
    assert callbacks.due_callbacks(store.conn, later, campaign="other") == []
    done = callbacks.mark_done(store, first["id"], "answered", attempt_id=None, at=later)
    assert done["status"] == "done" and done["claimed_by"] == "tester"
    assert callbacks.due_callbacks(store.conn, later) == []


def test_only_its_claimer_can_put_a_callback_back_in_the_queue(store) -> None:
    at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    first = callbacks.schedule(store, CN, "2026-12-01T11:00", at=at)
    later = datetime(2026, 12, 1, 3, 1, tzinfo=UTC)
    with pytest.raises(UserError, match="not claimed by you"):
        callbacks.release(store, first["id"], "busy", at=later)  # nobody claimed it
    callbacks.claim(store, first["id"], at=later)
    again = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    back = callbacks.release(store, first["id"], "no_answer", due_at=again, at=later)
    assert (back["status"], back["claimed_by"], back["due_at"]) == ("scheduled", None, "2026-12-01T05:00:00Z")
    assert [c["id"] for c in callbacks.due_callbacks(store.conn, again)] == [first["id"]]


def test_a_claim_by_name_is_the_acting_agent(cli, db_path: Path) -> None:
    schedule(cli, "--at", "2026-12-01T11:00")
    opened = open_store(db_path, actor="zhao")
    try:
        claimed = callbacks.claim(opened, 1, at=datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    finally:
        opened.close()
    assert claimed["claimed_by"] == "zhao"


def test_a_bad_zone_or_number_is_one_line(cli) -> None:
    bad_zone = cli("callback", "schedule", CN, "--at", "2026-12-02T10:00", "--tz", "Mars/Olympus")
    assert bad_zone.code == 1 and "not an IANA zone name" in bad_zone.stderr
    bad_phone = cli("callback", "schedule", "12", "--at", "2026-12-02T10:00")
    assert bad_phone.code == 1 and "not a valid number" in bad_phone.stderr
    assert cli("callback", "done", "1").code == 2  # --outcome is required


@pytest.mark.parametrize("name", ["America", "Asia", "posixrules", "zone.tab"])
def test_a_zone_folder_or_a_zone_database_file_given_as_tz_is_one_line(cli, name) -> None:
    """`--tz America` (a folder of the zone database) raised IsADirectoryError with a traceback."""
    refused = cli("callback", "schedule", CN, "--at", "2026-12-02T10:00", "--tz", name)
    assert refused.code == 1 and "Traceback" not in refused.stderr
    assert (
        refused.stderr.strip() == f"cctool: time zone {name!r} is not an IANA zone name (e.g. Europe/London)"
    )


def test_both_graces_set_together_are_checked_as_a_pair_and_a_refusal_changes_neither(cli) -> None:
    """`--owner 2d --missed 3d` was refused against the stored 1d; `--owner 2h --missed 1h` exited 1 with
    the owner grace already changed to 2h."""
    assert cli("callback", "grace", "--owner", "2d", "--missed", "3d", "--json").json == {
        "owner_grace": "2d",
        "missed_grace": "3d",
    }
    refused = cli("callback", "grace", "--owner", "4h", "--missed", "1h")
    assert refused.code == 1
    assert refused.stderr.startswith(
        "cctool: callbacks.missed_grace (1h) must be longer than callbacks.owner_grace (4h)"
    )
    assert cli("callback", "grace", "--json").json == {"owner_grace": "2d", "missed_grace": "3d"}


def test_a_wall_time_the_daylight_saving_change_skips_or_repeats_is_refused_with_the_way_out(cli) -> None:
    """'02:30' on the spring-forward night was booked silently for 03:30, and '01:30' on the fall-back
    night for the first of the two: a customer called at an hour nobody asked for."""
    skipped = cli(
        "callback",
        "schedule",
        UK,
        "--at",
        "2027-03-28T01:30",
        "--tz",
        "Europe/London",
        "--requested-by-customer",
    )
    assert skipped.code == 1
    assert "does not exist in Europe/London" in skipped.stderr and "Traceback" not in skipped.stderr
    twice = cli(
        "callback",
        "schedule",
        UK,
        "--at",
        "2026-10-25T01:30",
        "--tz",
        "Europe/London",
        "--requested-by-customer",
    )
    assert twice.code == 1 and "2026-10-25T01:30+01:00 or 2026-10-25T01:30+00:00" in twice.stderr
    chosen = schedule(cli, "--at", "2026-12-25T01:30+00:00", "--requested-by-customer", phone=UK)
    assert chosen["due_at"] == "2026-12-25T01:30:00Z"
    assert cli("--json", "callback", "list").json[0]["status"] == "scheduled"


def test_a_blank_owner_or_assignee_means_anyone_not_an_agent_called_spaces(cli) -> None:
    """`--owner "  "` reserved the callback for an agent named two spaces: nobody could claim it until
    the owner grace ran out; `ticket new --assign "  "` assigned the ticket to nobody by that name."""
    assert schedule(cli, "--at", "2026-12-01T15:00", "--owner", "  ")["owner"] is None
    ticket = cli(
        "--json", "ticket", "new", "--phone", CN, "--kind", "inquiry", "--subject", "x", "--assign", " "
    )
    assert ticket.json["assignee"] is None
    assert cli("--as", "wang", "--json", "callback", "claim", "1").json["claimed_by"] == "wang"


def test_done_or_release_naming_a_call_attempt_that_does_not_exist_is_refused(
    cli, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attempt goes into the audit log and onto the ticket as evidence of the call: a mistyped id
    was recorded as it was (`ticket link --attempt` already refused one)."""
    cli("ticket", "new", "--phone", CN, "--kind", "complaint", "--subject", "Outage")
    schedule(cli, "--at", "2026-12-01T11:00", "--ticket", "1")
    monkeypatch.setenv("CCTOOL_NOW", "2026-12-01T03:05:00Z")
    assert cli("callback", "claim", "1", "--as", "li").code == 0
    before = sqlite3.connect(db_path).execute("SELECT count(*) FROM audit_log").fetchone()
    for command in ("done", "release"):
        refused = cli("callback", command, "1", "--outcome", "reached", "--attempt", "1234", "--as", "li")
        assert refused.code == 1
        assert (
            refused.stderr == "cctool: no call attempt 1234: give an attempt id from `cctool dial status`\n"
        )
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM audit_log").fetchone() == before
    assert [c["status"] for c in cli("callback", "list", "--json").json] == ["claimed"]


def test_due_for_an_unknown_campaign_is_refused_not_an_empty_list(cli) -> None:
    """A typo in cron's `callback due --campaign` listed nothing, with exit 0, every five minutes."""
    refused = cli("callback", "due", "--campaign", "nope", "--json")
    assert refused.code == 1 and refused.stdout == ""
    assert (
        refused.stderr == "cctool: unknown campaign 'nope': load it with `cctool campaign load FILE.yaml`\n"
    )
