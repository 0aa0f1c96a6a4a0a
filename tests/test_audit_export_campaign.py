"""The auditor's folder for a simulated 30-day campaign: every file, the clean verdict, and planted faults."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from . import auditdata as data


def _export(cli, out: Path, *extra: str, start=data.START, end=data.END):
    result = cli("audit", "export", "--from", str(start), "--to", str(end), "--out", str(out), *extra)
    assert result.code == 0, result.stderr
    return json.loads((out / "summary.json").read_text())


def _rows(out: Path, name: str) -> list[dict[str, str]]:
    with (out / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def built(store):
    return data.build(store)


def test_a_clean_month_exports_every_file_and_the_checker_finds_nothing(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    summary = _export(cli, out)
    assert summary["violations"] == []
    expected = {
        "attempts",
        "blocked",
        "abandonment",
        "contact_attempts",
        "campaigns",
        "overrides",
        "dnc_registry",
        "dnc_national_matches",
        "tickets",
        "ticket_events",
        "callbacks",
        "optouts",
        "consents",
        "operations",
        "dnc_internal",
        "erasures",
    }
    for name in expected:
        assert (out / f"{name}.csv").is_file() and (out / f"{name}.jsonl").is_file(), name
    assert {"summary.json", "report.html", "manifest.json"} <= {p.name for p in out.iterdir()}
    assert summary["counts"]["attempts"] == built.attempts > 800
    assert summary["counts"]["blocked"] == built.blocked > 0
    assert summary["attempts"]["total"] == built.attempts
    assert cli("audit", "verify", "--export", str(out)).code == 0


def test_attempts_carry_the_record_keeping_fields(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    _export(cli, out)
    rows = _rows(out, "attempts.csv")
    first = rows[0]
    for column in (
        "seller",
        "purpose",
        "kind",
        "local_time",
        "zone",
        "zone_source",
        "zones",
        "duration_s",
        "caller_id",
        "script",
        "script_version",
        "registry_version",
        "registry_date",
        "rules_checked",
        "outcome",
    ):
        assert first[column] != "", column
    assert first["seller"] == "Acme Broadband Ltd" and first["started_at"].endswith("Z")
    assert {r["kind"] for r in rows} == {"marketing", "followup"}
    answered = next(r for r in rows if r["outcome"] == "answered")
    assert float(answered["duration_s"]) == float(answered["ring_s"]) + float(answered["talk_s"])
    abandoned = [r for r in rows if r["outcome"] == "abandoned"]
    assert abandoned and all(r["safe_harbour"] == "1" and r["abandoned"] == "1" for r in abandoned)
    assert [r["started_at"] for r in rows] == sorted(r["started_at"] for r in rows)


def test_the_period_limits_attempts_and_the_first_day_keeps_its_lookback(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "week"
    second_week = data.START + timedelta(days=7)
    summary = _export(cli, out, start=second_week, end=second_week + timedelta(days=6))
    rows = _rows(out, "attempts.csv")
    assert rows and all(
        second_week.isoformat() <= r["started_at"][:10] <= str(second_week + timedelta(6)) for r in rows
    )
    windows = [w for w in _rows(out, "abandonment.csv") if w["campaign"] == "renewal"]
    assert windows[0]["window_start"] == str(second_week - timedelta(days=29))
    assert int(windows[0]["live_answers"]) > sum(
        r["outcome"] in ("answered", "abandoned")
        for r in rows
        if r["started_at"][:10] == second_week.isoformat()
    )
    assert len(summary["attempts"]) and summary["violations"] == []


def test_campaign_filter_keeps_only_that_campaign(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "care"
    summary = _export(cli, out, "--campaign", "care")
    assert summary["counts"]["attempts"] == built.attempts_by_campaign["care"]
    assert {r["campaign"] for r in _rows(out, "attempts.csv")} == {"care"}
    assert [(r["campaign"], r["version"]) for r in _rows(out, "campaigns.csv")] == [("care", "1")]
    assert {r["campaign"] for r in _rows(out, "callbacks.csv")} == {"care"}
    assert len(_rows(out, "tickets.csv")) == 1
    assert _rows(out, "overrides.csv") == [] and _rows(out, "blocked.csv") == []


def test_campaigns_lists_every_version_used_with_its_effective_figures(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    _export(cli, out)
    versions = {(r["campaign"], r["version"]): r for r in _rows(out, "campaigns.csv")}
    assert set(versions) == {("renewal", "1"), ("renewal", "2"), ("care", "1")}
    renewal = versions[("renewal", "2")]
    assert (renewal["hours_start"], renewal["hours_end"], renewal["days"]) == (
        "09:00",
        "20:00",
        "mon,tue,wed,thu,fri,sat",
    )
    assert (renewal["cap_per_day"], renewal["min_gap_s"], renewal["abandon_window"]) == ("2", "3600", "30d")
    assert versions[("care", "1")]["abandon_window"] == "day"
    [override] = _rows(out, "overrides.csv")
    assert override["rule"] == "registry_max_age_s" and "compliance" in override["reason"]


def test_abandonment_is_given_per_window_with_its_cap_and_verdict(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    summary = _export(cli, out)
    windows = _rows(out, "abandonment.csv")
    renewal = [w for w in windows if w["campaign"] == "renewal"]
    assert len(renewal) == data.DAYS and all(w["result"] == "pass" and w["cap"] == "0.03" for w in renewal)
    last = renewal[-1]
    attempts = _rows(out, "attempts.csv")
    live = [r for r in attempts if r["campaign"] == "renewal" and r["outcome"] in ("answered", "abandoned")]
    assert int(last["live_answers"]) == len(live)
    assert int(last["abandoned"]) == sum(r["outcome"] == "abandoned" for r in live) > 0
    care = [w for w in windows if w["campaign"] == "care"]
    assert care and all(w["window_start"] == w["window_end"] for w in care)
    assert summary["abandonment"]["renewal"]["windows_failed"] == 0


def test_registry_loads_say_how_many_attempts_were_checked_against_each(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    _export(cli, out)
    loads = _rows(out, "dnc_registry.csv")
    assert [r["version"] for r in loads] == [d.isoformat() for d in data.REGISTRY_LOADS]
    renewal = built.attempts_by_campaign["renewal"]
    assert sum(int(r["attempts_checked"]) for r in loads) == renewal
    assert [r["matches_exported"] for r in loads] == ["no"] * 4 + ["yes"]
    assert loads[0]["sha256"] and loads[0]["count"] == "1000"
    assert _rows(out, "dnc_national_matches.csv") == []


def test_tickets_events_and_callbacks_are_exported_with_numbers_masked(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    _export(cli, out)
    tickets, events, callbacks = (
        _rows(out, f) for f in ("tickets.csv", "ticket_events.csv", "callbacks.csv")
    )
    assert len(tickets) == 3 and len(events) == 6 and len(callbacks) == 3
    assert all("*" in t["phone"] and t["phone_ref"] for t in tickets)
    assert "+1 212***0042" in tickets[0]["body"] and "+1 212***0042" in callbacks[0]["note"]
    assert {e["event"] for e in events} == {"created", "note"}
    # every field the service keeps, its id named for the file, the number beside its reference, no contact id
    assert list(tickets[0]) == [
        "ticket_id", "phone", "phone_ref", "kind", "subject", "body", "priority", "status", "assignee",
        "sla_due_at", "satisfaction", "created_at", "updated_at", "resolved_at", "created_by",
    ]  # fmt: skip
    assert list(callbacks[0]) == [
        "callback_id", "phone", "phone_ref", "due_at", "tz", "campaign", "ticket_id", "owner", "status",
        "claimed_by", "claimed_at", "outcome", "note", "requested_by_customer", "created_at", "created_by",
        "done_at",
    ]  # fmt: skip


def test_no_clear_number_or_name_leaves_in_a_masked_export(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    _export(cli, out)
    text = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    for contact in built.contacts:
        assert contact.phone not in text and contact.phone[1:] not in text
    assert "+12125550042" not in text
    assert "+1 212***0000" in text  # contact 1's number, masked


def test_an_unmasked_export_has_clear_numbers_and_is_logged_with_its_actor(
    cli, built, tmp_path: Path
) -> None:
    out = tmp_path / "clear"
    _export(cli, out, "--unmask", "--as", "auditor-jane")
    phones = {r["phone"] for r in _rows(out, "attempts.csv")}
    assert built.contacts[0].phone in phones
    last = cli("audit", "log", "--json").json[-1]
    assert (last["action"], last["actor"]) == ("export_unmasked", "auditor-jane")


def test_a_changed_attempt_row_is_caught_by_verify(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    _export(cli, out)
    path = out / "attempts.csv"
    path.write_text(path.read_text().replace("abandoned,", "answered,", 1))
    result = cli("audit", "verify", "--export", str(out))
    assert result.code == 3 and "attempts.csv" in result.stderr


def test_the_summary_feeds_the_report_charts(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    summary = _export(cli, out)
    assert summary["optouts"]["received"] >= 2 and summary["optouts"]["max_latency_s"] == 2.0
    assert summary["blocked"]["by_reason"]["opted_out"] > 0
    page = (out / "report.html").read_text()
    assert page.count('class="bar"') >= data.DAYS + data.DAYS + 24
    for chart in (
        "attempts-per-day",
        "abandonment-renewal",
        "abandonment-care",
        "local-hours",
        "optout-latency",
    ):
        assert f'id="{chart}"' in page


# Planted violations: each breaks one rule in the database; the checker must name that rule. -----------


def _plant_hours(store, built):
    contact = built.contacts[data.SPARE[0]]
    return {"hours"}, data.plant_attempts(store, built, contact, [data.local(contact, 19, 7, 30)])


def _plant_sunday(store, built):
    contact = built.contacts[data.SPARE[0]]
    return {"hours"}, data.plant_attempts(store, built, contact, [data.local(contact, 3, 11)])  # 2026-10-04


def _plant_after_optout(store, built):
    contact = built.contacts[data.OPTOUT_WEB]
    return {"opted_out"}, data.plant_attempts(store, built, contact, [data.local(contact, 19, 11)])


def _plant_internal_dnc(store, built):
    contact = built.contacts[data.ON_INTERNAL_DNC]
    return {"dnc_internal"}, data.plant_attempts(store, built, contact, [data.local(contact, 19, 11)])


def _plant_revoked_consent(store, built):
    contact = built.contacts[data.CONSENT_REVOKED]
    return {"no_consent"}, data.plant_attempts(store, built, contact, [data.local(contact, 19, 11)])


def _plant_never_consented(store, built):
    contact = built.contacts[data.SPARE[1]]
    with store.write():
        store.conn.execute("DELETE FROM consents WHERE phone = ?", (contact.phone,))
    return {"no_consent"}, data.plant_attempts(store, built, contact, [data.local(contact, 19, 11)])


def _plant_national(store, built):
    contact = built.contacts[data.ON_REGISTRY[0]]
    return {"dnc_national"}, data.plant_attempts(store, built, contact, [data.local(contact, 27, 11)])


def _plant_min_gap(store, built):
    contact = built.contacts[data.SPARE[2]]
    moments = [data.local(contact, 19, 11), data.local(contact, 19, 11, 30)]
    return {"min_gap"}, data.plant_attempts(store, built, contact, moments)[1:]


def _plant_cap_day(store, built):
    contact = built.contacts[data.SPARE[3]]
    moments = [data.local(contact, 19, h) for h in (10, 12, 14)]
    return {"cap_day"}, data.plant_attempts(store, built, contact, moments)[2:]


def _plant_cap_24h(store, built):
    contact = built.contacts[data.SPARE[4]]
    moments = [data.local(contact, 19, 17), data.local(contact, 19, 19), data.local(contact, 20, 10)]
    moments.append(data.local(contact, 20, 12))
    return {"cap_24h"}, data.plant_attempts(store, built, contact, moments)[3:]


PLANTS = {
    "outside hours in the called zone": _plant_hours,
    "on a day that is not a calling day": _plant_sunday,
    "after an opt-out": _plant_after_optout,
    "on the internal do-not-call list": _plant_internal_dnc,
    "after consent was revoked": _plant_revoked_consent,
    "marketing without any consent": _plant_never_consented,
    "on the national registry copy": _plant_national,
    "too soon after the previous attempt": _plant_min_gap,
    "over the per-day cap": _plant_cap_day,
    "over the 24-hour cap": _plant_cap_24h,
}


@pytest.mark.parametrize("story", list(PLANTS))
def test_a_violating_attempt_planted_in_the_database_is_found(
    cli, store, built, tmp_path: Path, story
) -> None:
    rules, ids = PLANTS[story](store, built)
    summary = _export(cli, tmp_path / "audit")
    found = {(v["rule"], v["attempt_id"]) for v in summary["violations"]}
    assert found == {(rule, str(i)) for rule in rules for i in ids}, story
    page = (tmp_path / "audit" / "report.html").read_text()
    assert f"{len(found)} violation(s)" in page


def test_abandonment_over_the_cap_is_found_per_window(cli, store, built, tmp_path: Path) -> None:
    day = data.START + timedelta(days=20)
    since = datetime.combine(day, time(0), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = datetime.combine(day + timedelta(days=2), time(0), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with store.write():
        store.conn.execute(
            "UPDATE attempts SET outcome = 'abandoned', abandoned = 1, safe_harbour = 1 "
            "WHERE campaign = 'renewal' AND outcome = 'answered' AND started_at >= ? AND started_at < ?",
            (since, until),
        )
    summary = _export(cli, tmp_path / "audit")
    assert {v["rule"] for v in summary["violations"]} == {"abandon_rate"}
    failed = [w for w in _rows(tmp_path / "audit", "abandonment.csv") if w["result"] == "fail"]
    assert failed and failed[0]["window_end"] == day.isoformat()
    # the checker slides its windows over days with calls; the export over every day of the period
    assert day.isoformat() in {v["started_at"] for v in summary["violations"]}
    assert {v["started_at"] for v in summary["violations"]} <= {w["window_end"] for w in failed}


def test_json_lines_carry_the_same_rows_as_the_csv_files(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    _export(cli, out)
    for name in ("attempts", "blocked", "tickets"):
        rows = _rows(out, f"{name}.csv")
        lines = [json.loads(line) for line in (out / f"{name}.jsonl").read_text().splitlines()]
        assert len(lines) == len(rows) > 0
        for row, line in zip(rows, lines):
            assert set(line) == set(row)
            assert {k: "" if v is None else str(v) for k, v in line.items()} == row
    first = json.loads((out / "attempts.jsonl").read_text().splitlines()[0])
    assert isinstance(first["attempt_id"], int) and "*" in first["phone"]


@pytest.mark.browser
def test_the_months_report_renders_in_a_browser_with_every_chart_and_no_request(
    cli, built, tmp_path: Path
) -> None:
    from .browser import render as browse

    out = tmp_path / "audit"
    _export(cli, out)
    dom, requests = browse(out / "report.html")
    assert requests == []
    for chart in (
        "attempts-per-day",
        "abandonment-renewal",
        "abandonment-care",
        "local-hours",
        "optout-latency",
    ):
        assert f'id="{chart}"' in dom, chart
    assert dom.count('class="bar"') >= data.DAYS * 2 + 24
    assert "no violations found" in dom


def test_attempts_per_contact_are_counted_beside_the_caps_in_force(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    summary = _export(cli, out)
    rows = _rows(out, "contact_attempts.csv")
    renewal = [r for r in rows if r["campaign"] == "renewal"]
    assert sum(int(r["attempts"]) for r in renewal) == built.attempts_by_campaign["renewal"]
    assert all(r["cap_per_day"] == "2" and r["min_gap_s"] == "3600" for r in renewal)
    figures = summary["attempts_per_contact"]["renewal"]
    assert figures["contacts"] == len(renewal) and figures["max"] == max(int(r["attempts"]) for r in renewal)


def test_an_unknown_campaign_is_refused_in_one_line_and_writes_nothing(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "never"
    result = cli(
        "audit",
        "export",
        "--from",
        str(data.START),
        "--to",
        str(data.END),
        "--out",
        str(out),
        "--campaign",
        "nope",
    )
    assert result.code == 1 and "unknown campaign 'nope'" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("registry_size", [1, 10**7])
def test_registry_matches_are_found_whichever_side_is_smaller(
    cli, store, built, tmp_path: Path, registry_size
) -> None:
    _, ids = _plant_national(store, built)
    with store.write():
        store.conn.execute("UPDATE dnc_registry_loads SET count = ?", (registry_size,))
    out = tmp_path / "audit"
    summary = _export(cli, out)
    assert [(v["rule"], v["attempt_id"]) for v in summary["violations"]] == [("dnc_national", str(ids[0]))]
    [match] = _rows(out, "dnc_national_matches.csv")
    assert match["registry_version"] == data.REGISTRY_LOADS[-1].isoformat() and "*" in match["phone"]


def test_csv_only_writes_no_json_nor_page_but_the_same_rows(cli, built, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    summary = _export(cli, out, "--format", "csv")
    names = {p.name for p in out.iterdir()}
    assert not any(n.endswith(".jsonl") for n in names) and "report.html" not in names
    assert len(_rows(out, "attempts.csv")) == built.attempts and summary["violations"] == []
    assert summary["attempts_per_contact"]["renewal"]["contacts"] == 50
    assert cli("audit", "verify", "--export", str(out)).code == 0
