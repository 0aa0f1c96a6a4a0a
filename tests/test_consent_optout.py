"""Consent (append-only, the latest in force), opt-outs (in force at once) and the dial-time reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cctool import consent, optout
from cctool.store import open_store
from cctool.suppression import consent_in_force, suppression_state
from cctool.timeutil import from_iso, utcnow

PHONE = "+12125550123"


@pytest.mark.usefixtures("initialized")
def test_consent_grant_and_revoke_from_the_command_line(cli) -> None:
    granted = cli(
        "consent", "grant", "+1 (212) 555-0123", "--purpose", "marketing", "--source", "web-form",
        "--evidence", "form-17", "--at", "2026-11-01T10:00:00Z", "--json",
    )  # fmt: skip
    assert granted.code == 0, granted.stderr
    assert granted.json["phone"] == PHONE and granted.json["given_at"] == "2026-11-01T10:00:00Z"
    cli("consent", "revoke", PHONE, "--purpose", "marketing", "--source", "call", "--at", "2026-11-02")
    shown = cli("consent", "show", PHONE, "--json").json
    assert shown["in_force"]["marketing"]["revoked"] is True
    assert shown["in_force"]["survey"]["granted"] is False
    assert [r["action"] for r in shown["records"]] == ["grant", "revoke"]
    assert shown["records"][0]["evidence"] == "form-17" and shown["records"][0]["actor"] == "tester"


@pytest.mark.usefixtures("initialized")
def test_consent_refuses_bad_input_in_one_line(cli) -> None:
    assert cli("consent", "grant", PHONE, "--purpose", "sales", "--source", "x").code == 2
    assert cli("consent", "grant", PHONE, "--purpose", "marketing").code == 2  # --source is required
    blank = cli("consent", "grant", PHONE, "--purpose", "marketing", "--source", " ")
    assert blank.code == 2 and "--source" in blank.stderr
    future = cli("consent", "grant", PHONE, "--purpose", "marketing", "--source", "x", "--at", "2999-01-01")
    assert future.code == 1 and "in the future" in future.stderr
    bad_time = cli("consent", "grant", PHONE, "--purpose", "marketing", "--source", "x", "--at", "soon")
    assert bad_time.code == 2 and "not a time" in bad_time.stderr
    assert cli("consent", "grant", "123", "--purpose", "marketing", "--source", "x").code == 1
    assert cli("consent", "show", PHONE, "--json").json["records"] == []


def test_consent_records_cannot_be_edited(store) -> None:
    consent.record(store, PHONE, "marketing", "grant", "web")
    try:
        store.conn.execute("UPDATE consents SET action = 'revoke'")
        raise AssertionError("consents accepted an update")
    except Exception as exc:  # the trigger aborts
        assert "append-only" in str(exc)


def test_consent_in_force_reads_the_records_up_to_the_instant(store) -> None:
    t0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    consent.record(store, PHONE, "marketing", "grant", "web", at=t0)
    consent.record(store, PHONE, "marketing", "revoke", "call", at=t0 + timedelta(hours=1))
    before = consent_in_force(store.conn, PHONE, "marketing", t0 - timedelta(seconds=1))
    during = consent_in_force(store.conn, PHONE, "marketing", t0 + timedelta(minutes=30))
    after = consent_in_force(store.conn, PHONE, "marketing", t0 + timedelta(hours=2))
    assert (before.granted, before.revoked) == (False, False)
    assert (during.granted, during.source) == (True, "web")
    assert (after.granted, after.revoked, after.source) == (False, True, "call")
    assert (
        consent_in_force(store.conn, PHONE, "survey", after_time := t0 + timedelta(hours=2)).granted is False
    )
    assert after_time > t0


def test_times_with_and_without_microseconds_compare_as_instants(store) -> None:
    t0 = datetime(2026, 11, 1, 9, 0, 0, tzinfo=UTC)
    consent.record(store, PHONE, "marketing", "grant", "web", at=t0)
    consent.record(store, PHONE, "marketing", "revoke", "call", at=t0 + timedelta(microseconds=500_000))
    # As text "09:00:00.5Z" sorts before "09:00:00Z"; as instants the revoke is later and wins.
    assert consent_in_force(store.conn, PHONE, "marketing", t0 + timedelta(seconds=1)).revoked is True
    assert consent_in_force(store.conn, PHONE, "marketing", t0).granted is True


events = st.lists(
    st.tuples(st.sampled_from(["grant", "revoke"]), st.integers(min_value=0, max_value=20)),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(events=events, probe=st.integers(min_value=-1, max_value=21))
def test_the_latest_consent_record_given_by_the_instant_is_in_force(tmp_path_factory, events, probe) -> None:
    folder = tmp_path_factory.mktemp("consent")
    store = open_store(folder / "c.db", actor="tester", command="test")
    try:
        t0 = datetime(2026, 11, 1, tzinfo=UTC)
        for action, minute in events:
            consent.record(
                store, PHONE, "marketing", action, f"src-{minute}", at=t0 + timedelta(minutes=minute)
            )
        at = t0 + timedelta(minutes=probe)
        state = consent_in_force(store.conn, PHONE, "marketing", at)
        # The model: the last event in recording order among those with the greatest time <= at.
        given_by_then = [(minute, i, action) for i, (action, minute) in enumerate(events) if minute <= probe]
        if not given_by_then:
            assert (state.granted, state.revoked, state.at) == (False, False, None)
        else:
            minute, _, action = max(given_by_then)
            assert state.granted == (action == "grant") and state.revoked == (action == "revoke")
            assert from_iso(state.at or "") == t0 + timedelta(minutes=minute)
    finally:
        store.close()


def test_an_optout_is_in_force_from_the_moment_it_is_recorded(cli, store) -> None:
    before = utcnow()
    result = cli("optout", "+1 212 555 0123", "--channel", "sms", "--json")
    assert result.code == 0
    row = result.json
    assert row["channel"] == "sms" and row["actor"] == "tester"
    assert row["requested_at"] == row["effective_at"]
    effective = from_iso(row["effective_at"])
    assert suppression_state(store.conn, PHONE, effective).opted_out is True
    assert suppression_state(store.conn, PHONE, effective - timedelta(microseconds=1)).opted_out is False
    assert suppression_state(store.conn, PHONE, before - timedelta(seconds=1)).opted_out is False
    checked = cli("dnc", "check", PHONE, "--json").json
    assert checked["lists"] == ["optout"] and checked["optout_at"] == row["effective_at"]


@pytest.mark.usefixtures("initialized")
def test_optout_refuses_an_unknown_channel_and_a_bad_number(cli) -> None:
    assert cli("optout", PHONE, "--channel", "fax").code == 2
    assert cli("optout", "12").code == 1
    assert cli("dnc", "check", PHONE, "--json").json["suppressed"] is False


def test_an_optout_recorded_by_the_dialer_keeps_its_request_and_effect_times(store) -> None:
    asked = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
    optout.record(store, PHONE, "call", source="dial", requested_at=asked)
    state = suppression_state(store.conn, PHONE, asked)
    assert state.opted_out and state.optout_at == "2026-11-03T14:00:00Z"


def test_internal_entries_are_read_as_of_the_instant(store) -> None:
    from cctool import dnc

    dnc.add_internal(store, PHONE, "asked")
    added = from_iso(store.conn.execute("SELECT added_at FROM dnc_internal").fetchone()[0])
    dnc.remove_internal(store, PHONE)
    removed = from_iso(store.conn.execute("SELECT removed_at FROM dnc_internal").fetchone()[0])
    assert suppression_state(store.conn, PHONE, added - timedelta(seconds=1)).internal is False
    assert suppression_state(store.conn, PHONE, added).internal is True
    assert suppression_state(store.conn, PHONE, removed).internal is False


def test_an_erased_number_is_suppressed(store) -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO suppressions (phone, reason, created_at, actor) VALUES (?, 'erased', ?, 'x')",
            (PHONE, "2026-11-01T00:00:00Z"),
        )
    state = suppression_state(store.conn, PHONE, datetime(2026, 11, 2, tzinfo=UTC))
    assert state.erased and state.lists == ["erased"] and state.suppressed


def test_registry_age_comes_from_the_copy_date(store, tmp_path) -> None:
    from cctool import dnc

    path = tmp_path / "n.txt"
    path.write_text("+12125550123\n", encoding="utf-8")
    dnc.import_registry(store, path, "v1", datetime(2026, 10, 1).date())
    state = suppression_state(store.conn, PHONE, datetime(2026, 11, 2, tzinfo=UTC))
    assert state.national and state.registry_version == "v1"
    assert state.registry_age(datetime(2026, 11, 2, tzinfo=UTC)) == timedelta(days=32)


def test_a_suppression_kept_for_another_reason_counts_as_the_internal_list(store) -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO suppressions (phone, reason, created_at, actor) VALUES (?, 'legal hold', ?, 'x')",
            (PHONE, "2026-11-01T00:00:00Z"),
        )
    state = suppression_state(store.conn, PHONE, datetime(2026, 11, 2, tzinfo=UTC))
    assert state.lists == ["internal"] and not state.erased


@pytest.mark.usefixtures("initialized")
def test_a_second_optout_says_the_number_was_already_suppressed_and_since_when(cli) -> None:
    """Each request is kept as evidence, but the second one printed "effective now" as if the number had
    been dialable until then."""
    first = cli("optout", "+12025550143", "--json").json
    assert first["opted_out_since"] == first["effective_at"]
    again = cli("optout", "+12025550143", "--channel", "sms")
    assert again.code == 0
    assert " ".join(again.stdout.split()) == (  # the terminal may wrap the line
        f"+12025550143 was already opted out in every campaign since {first['effective_at']}; "
        "this request (sms) is recorded too"
    )
    assert len(cli("audit", "log", "--json").json) == 3  # init, and both requests
