"""Tickets through the CLI: logging a call, the lifecycle, the history, SLA, follow-ups and offers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cctool.store import open_store

pytestmark = pytest.mark.usefixtures("initialized")  # each test starts from `cctool init`

NOW = "2026-12-01T02:00:00Z"  # 10:00 in Shanghai, a Tuesday
CN = "+8613800138003"


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCTOOL_NOW", NOW)


def new(cli, *extra: str, phone: str = CN, kind: str = "inquiry") -> dict:
    result = cli(
        "ticket", "new", "--phone", phone, "--kind", kind, "--subject", "Data plan prices", *extra, "--json"
    )
    assert result.code == 0, result.stderr
    return result.json


def add_campaign(db_path: Path, name: str, threshold: int | None) -> None:
    """A loaded campaign, as the campaigns area stores it (rows written directly to keep this test local)."""
    open_store(db_path).close()
    definition = {"name": name, "kind": "followup", "service_to_marketing_threshold": threshold}
    conn = sqlite3.connect(db_path)
    conn.execute(
        "INSERT INTO campaigns (name, kind, current_version, created_at, updated_at) VALUES (?, 'followup', 1, ?, ?)",
        (name, NOW, NOW),
    )
    conn.execute(
        "INSERT INTO campaign_versions (campaign, version, sha256, text, loaded_at, actor, kind, policy, "
        "hours_start, hours_end, days, abandon_cap, abandon_window, definition) "
        "VALUES (?, 1, 'x', '', ?, 'test', 'followup', 'cn', '09:00', '20:00', 'mon,tue,wed,thu,fri', 0.03, '30d', ?)",
        (name, NOW, json.dumps(definition)),
    )
    conn.commit()
    conn.close()


def test_a_call_from_an_unknown_number_creates_a_ticket_and_a_contact(cli, db_path: Path) -> None:
    ticket = cli("ticket", "new", "--phone", "138 0013 8003", "--region", "CN", "--kind", "complaint",
                 "--subject", "Broadband down", "--priority", "high", "--json").json  # fmt: skip
    assert ticket["phone"] == CN and ticket["status"] == "new" and ticket["kind"] == "complaint"
    conn = sqlite3.connect(db_path)
    contact = conn.execute("SELECT id, phone, region, number_zones, created_at FROM contacts").fetchall()
    assert len(contact) == 1 and contact[0][1] == CN and contact[0][2] == "CN"
    assert json.loads(contact[0][3]) == ["Asia/Shanghai"]
    assert ticket["contact_id"] == contact[0][0]


def test_a_known_number_reuses_its_contact(cli, db_path: Path) -> None:
    first, second = new(cli), new(cli, phone="+86 138-0013-8003")
    assert first["contact_id"] == second["contact_id"]
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM contacts").fetchone()[0] == 1


def test_bad_input_is_one_line_and_changes_nothing(cli, db_path: Path) -> None:
    new(cli)
    for args, code in (  # 2: a value not of its option's kind; 1: well-formed, refused
        (["ticket", "new", "--phone", "12345", "--kind", "inquiry", "--subject", "x"], 1),
        (["ticket", "new", "--phone", CN, "--kind", "praise", "--subject", "x"], 2),
        (["ticket", "new", "--phone", CN, "--kind", "inquiry", "--subject", "x", "--priority", "asap"], 2),
        (["ticket", "new", "--phone", CN, "--kind", "inquiry", "--subject", " "], 2),
        (["ticket", "update", "99", "--note", "x"], 1),
        (["ticket", "update", "1", "--set", "status=closed"], 1),
        (["ticket", "update", "1", "--set", "priority=asap"], 2),
        (["ticket", "update", "1", "--set", "subject="], 2),
    ):
        result = cli(*args)
        assert result.code == code, args
        assert result.stderr.startswith("cctool: ") and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM ticket_events").fetchone()[0] == 1


def test_an_update_without_a_change_is_a_usage_error(cli) -> None:
    new(cli)
    assert cli("ticket", "update", "1").code == 2
    assert cli("ticket", "update", "1", "--set", "colour=red").code == 2


def test_the_lifecycle_runs_new_open_pending_resolved_closed_and_reopens(cli) -> None:
    new(cli)
    for status in ("open", "pending", "open", "resolved", "closed"):
        assert cli("ticket", "update", "1", "--status", status, "--json").json["status"] == status
    reopened = cli("ticket", "reopen", "1", "--note", "customer called again", "--json").json
    assert reopened["status"] == "open" and reopened["resolved_at"] is None
    assert cli("ticket", "update", "1", "--status", "resolved", "--json").json["resolved_at"] == NOW
    assert cli("ticket", "update", "1", "--status", "open", "--json").json["status"] == "open"


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], "resolved"),
        ([], "closed"),
        ([], "pending"),
        (["open"], "closed"),
        (["open", "resolved"], "pending"),
    ],
)
def test_an_illegal_move_is_refused_with_the_allowed_ones(cli, path: list[str], illegal: str) -> None:
    new(cli)
    for status in path:
        cli("ticket", "update", "1", "--status", status)
    result = cli("ticket", "update", "1", "--status", illegal, "--note", "should not stay")
    assert result.code == 1
    assert "cannot become" in result.stderr and "it can only become" in result.stderr
    shown = cli("ticket", "show", "1", "--json").json
    assert shown["status"] == (path[-1] if path else "new")
    assert all(e["note"] != "should not stay" for e in shown["events"])


def test_history_keeps_every_old_and_new_value(cli) -> None:
    new(cli, "--assign", "li")
    cli(
        "ticket",
        "update",
        "1",
        "--set",
        "subject=Data plan prices and roaming",
        "--note",
        "asked about roaming",
    )
    cli("ticket", "update", "1", "--set", "assignee=wang", "--set", "priority=high")
    shown = cli("ticket", "show", "1", "--json").json
    assert shown["subject"] == "Data plan prices and roaming" and shown["assignee"] == "wang"
    changes = {
        (e["event"], e["field"]): (e["old_value"], e["new_value"]) for e in shown["events"] if e["field"]
    }
    assert changes[("field", "subject")] == ("Data plan prices", "Data plan prices and roaming")
    assert changes[("assign", "assignee")] == ("li", "wang")
    assert changes[("field", "priority")] == ("normal", "high")
    assert changes[("field", "sla_due_at")] == ("2026-12-02T02:00:00Z", "2026-12-01T10:00:00Z")
    assert [e["event"] for e in shown["events"]][:2] == ["created", "assign"]
    assert any(e["event"] == "note" and e["note"] == "asked about roaming" for e in shown["events"])
    human = " ".join(cli("ticket", "show", "1").stdout.split())
    assert "subject: Data plan prices -> Data plan prices and roaming" in human


def test_ticket_events_cannot_be_rewritten(cli, db_path: Path) -> None:
    new(cli)
    conn = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE ticket_events SET note = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM ticket_events")


def test_sla_comes_from_kind_and_priority_and_can_be_set(cli) -> None:
    assert new(cli, "--priority", "urgent", kind="complaint")["sla_due_at"] == "2026-12-01T03:00:00Z"
    assert new(cli, kind="return")["sla_due_at"] == "2026-12-04T02:00:00Z"
    assert cli("ticket", "sla", "set", "return", "normal", "6h").code == 0
    assert new(cli, kind="return")["sla_due_at"] == "2026-12-01T08:00:00Z"
    assert cli("ticket", "sla", "show", "--json").json["return"]["normal"] == "6h"
    refused = cli("ticket", "sla", "set", "return", "normal", "soon")
    assert refused.code == 2 and "not a positive duration" in refused.stderr


def test_overdue_lists_only_active_tickets_past_their_sla(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    new(cli, "--priority", "urgent", kind="complaint")  # due 03:00
    new(cli, "--priority", "urgent", kind="complaint")
    new(cli)  # due tomorrow
    cli("ticket", "update", "2", "--status", "open")
    cli("ticket", "update", "2", "--status", "resolved")
    monkeypatch.setenv("CCTOOL_NOW", "2026-12-01T04:00:00Z")
    late = cli("ticket", "list", "--overdue", "--json").json
    assert [t["id"] for t in late] == [1] and late[0]["overdue"] is True


def test_list_filters_by_status_kind_phone_and_assignee(cli) -> None:
    new(cli, "--assign", "li", kind="order")
    new(cli, phone="+14155550100")
    cli("ticket", "update", "2", "--status", "open")
    assert [t["id"] for t in cli("ticket", "list", "--kind", "order", "--json").json] == [1]
    assert [t["id"] for t in cli("ticket", "list", "--status", "open", "--json").json] == [2]
    assert [
        t["id"] for t in cli("ticket", "list", "--phone", "(415) 555-0100", "--region", "US", "--json").json
    ] == [2]
    assert [t["id"] for t in cli("ticket", "list", "--assignee", "li", "--json").json] == [1]
    assert cli("ticket", "list", "--status", "done").code == 2


def test_resolving_a_complaint_schedules_its_follow_up_inside_calling_hours(cli, monkeypatch) -> None:
    new(cli, kind="complaint")
    cli("ticket", "update", "1", "--status", "open")
    monkeypatch.setenv("CCTOOL_NOW", "2026-12-01T14:00:00Z")  # 22:00 in Shanghai
    cli("ticket", "update", "1", "--status", "resolved")
    shown = cli("ticket", "show", "1", "--json").json
    [callback] = shown["callbacks"]
    # two days later is 22:00 local, after hours: moved to 09:00 local the next morning
    assert callback["due_at"] == "2026-12-04T01:00:00Z" and callback["ticket"] == 1
    assert shown["events"][-1]["event"] == "link" and shown["events"][-1]["ref"] == {
        "callback": callback["id"]
    }
    # resolving again after a reopen does not stack a second follow-up while one waits
    cli("ticket", "reopen", "1")
    cli("ticket", "update", "1", "--status", "resolved")
    assert len(cli("ticket", "show", "1", "--json").json["callbacks"]) == 1


def test_resolving_an_inquiry_schedules_nothing(cli) -> None:
    new(cli)
    cli("ticket", "update", "1", "--status", "open")
    cli("ticket", "update", "1", "--status", "resolved")
    assert cli("callback", "list", "--json").json == []


def test_the_follow_up_delay_is_a_setting(cli) -> None:
    assert cli("ticket", "config", "set", "tickets.followup_delay", "3d").code == 0
    new(cli, kind="complaint")
    cli("ticket", "update", "1", "--status", "open")
    cli("ticket", "update", "1", "--status", "resolved")
    assert cli("callback", "list", "--json").json[0]["due_at"] == "2026-12-04T02:00:00Z"
    assert cli("ticket", "config", "set", "tickets.nope", "1").code == 2
    unknown = cli("ticket", "config", "set", "tickets.followup_campaign", "care")
    assert unknown.code == 1 and "unknown campaign 'care'" in unknown.stderr


def test_the_follow_up_is_dialed_in_the_follow_up_campaign_when_one_is_set(cli, db_path: Path) -> None:
    add_campaign(db_path, "care-2026", None)
    assert cli("ticket", "config", "set", "tickets.followup_campaign", "care-2026").code == 0
    new(cli, kind="complaint")
    cli("ticket", "update", "1", "--status", "open")
    cli("ticket", "update", "1", "--status", "resolved")
    [callback] = cli("callback", "list", "--json").json
    # two days on is Thursday 10:00 local, inside the campaign's 09:00-20:00 mon-fri
    assert (callback["campaign"], callback["due_at"]) == ("care-2026", "2026-12-03T02:00:00Z")


def test_a_follow_up_records_satisfaction_on_the_ticket(cli) -> None:
    new(cli, kind="complaint")
    assert cli("ticket", "satisfaction", "1", "101").code == 2
    shown = cli("ticket", "satisfaction", "1", "88", "--json").json
    assert shown["satisfaction"] == 88
    cli("ticket", "satisfaction", "1", "92")
    events = [e for e in cli("ticket", "show", "1", "--json").json["events"] if e["event"] == "satisfaction"]
    assert [(e["old_value"], e["new_value"]) for e in events] == [(None, "88"), ("88", "92")]


def test_an_offer_is_allowed_only_at_or_above_the_campaigns_threshold(cli, db_path: Path) -> None:
    add_campaign(db_path, "care-2026", 90)
    new(cli, kind="complaint")
    no_score = cli("ticket", "offer", "1", "--campaign", "care-2026")
    assert no_score.code == 1 and "no satisfaction score" in no_score.stderr
    cli("ticket", "satisfaction", "1", "89")
    below = cli("ticket", "offer", "1", "--campaign", "care-2026", "--product", "500M upgrade")
    assert below.code == 1 and "below the service-to-marketing threshold 90" in below.stderr
    cli("ticket", "satisfaction", "1", "90")
    assert cli("ticket", "offer", "1", "--campaign", "care-2026", "--product", "500M upgrade").code == 0
    [switch] = [
        e for e in cli("ticket", "show", "1", "--json").json["events"] if e["event"] == "marketing_switch"
    ]
    assert switch["new_value"] == "500M upgrade"
    assert switch["ref"] == {
        "satisfaction": 90,
        "threshold": 90,
        "threshold_source": "campaign care-2026",
        "campaign": "care-2026",
    }


def test_without_any_threshold_no_offer_is_allowed_and_the_setting_enables_it(cli) -> None:
    new(cli)
    cli("ticket", "satisfaction", "1", "100")
    refused = cli("ticket", "offer", "1")
    assert refused.code == 1 and "no service-to-marketing threshold" in refused.stderr
    cli("ticket", "config", "set", "tickets.service_to_marketing_threshold", "95")
    assert cli("ticket", "offer", "1", "--product", "roaming pack").code == 0


def test_links_to_campaigns_and_attempts_are_events(cli, db_path: Path) -> None:
    add_campaign(db_path, "care-2026", None)
    new(cli, "--campaign", "care-2026")
    assert cli("ticket", "link", "1", "--attempt", "5").code == 1  # no such attempt
    assert cli("ticket", "link", "1", "--campaign", "nope").code == 1
    refs = [e["ref"] for e in cli("ticket", "show", "1", "--json").json["events"] if e["event"] == "link"]
    assert refs == [{"campaign": "care-2026"}]


def test_every_change_is_in_the_audit_chain(cli) -> None:
    new(cli)
    cli("ticket", "update", "1", "--status", "open", "--note", "n")
    log = cli("audit", "log", "--json").json
    actions = [(r["entity"], r["action"]) for r in log if r["entity"] in ("ticket", "contact")]
    assert actions == [("contact", "create"), ("ticket", "created"), ("ticket", "status"), ("ticket", "note")]
    assert cli("audit", "verify").code == 0


def test_demo_logs_tickets_and_lists_the_follow_up(store, tmp_path: Path) -> None:
    from cctool import tickets

    lines: list[str] = []
    tickets.demo(store, tmp_path, lines.append)
    text = "\n".join(lines)
    assert "complaint" in text and "follow-up callback" in text
    assert "lists 1 callback(s)" in text


def test_a_ticket_links_to_the_call_attempt_it_came_from(cli, db_path: Path) -> None:
    open_store(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(
        "INSERT INTO attempts (id, campaign, campaign_version, phone, started_at, trunk, outcome) "
        "VALUES (41, 'care-2026', 1, ?, ?, 'mock', 'answered')",
        (CN, NOW),
    )
    conn.commit()
    conn.close()
    new(cli, "--attempt", "41")
    assert cli("ticket", "link", "1", "--attempt", "41", "--note", "customer called back").code == 0
    links = [e for e in cli("ticket", "show", "1", "--json").json["events"] if e["event"] == "link"]
    assert [e["ref"] for e in links] == [{"attempt": 41}, {"attempt": 41}]
    assert links[1]["note"] == "customer called back"
    assert cli("ticket", "link", "1").code == 2


def test_clearing_the_sla_due_time_says_none_not_a_python_none(cli) -> None:
    new(cli)
    cleared = cli("ticket", "update", "1", "--set", "sla_due_at=")
    assert cleared.code == 0 and "SLA due none" in cleared.stdout and "None" not in cleared.stdout


def test_a_subject_pasted_over_several_lines_is_kept_as_one_line(cli) -> None:
    """A subject pasted from an e-mail kept its line breaks and broke every list and history row."""
    ticket = cli(
        "ticket",
        "new",
        "--phone",
        CN,
        "--kind",
        "inquiry",
        "--subject",
        "Router\n  keeps\trebooting\n",
        "--json",
    ).json
    assert ticket["subject"] == "Router keeps rebooting"
    updated = cli("ticket", "update", str(ticket["id"]), "--set", "subject=Router\nreplaced", "--json").json
    assert updated["subject"] == "Router replaced"


def test_a_satisfaction_score_recorded_by_mistake_can_be_cleared(cli) -> None:
    """`--set satisfaction=` was refused ("must be a whole number"), unlike every other optional field."""
    ticket = new(cli)
    assert cli("ticket", "satisfaction", str(ticket["id"]), "88").code == 0
    cleared = cli("ticket", "update", str(ticket["id"]), "--set", "satisfaction=", "--json")
    assert cleared.code == 0, cleared.stderr
    assert cleared.json["satisfaction"] is None
