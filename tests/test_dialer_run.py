"""The dialer on the mock trunk: what a run records, in the database, as a team lead would check it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cctool import callbacks, campaign_store, dialer
from cctool.campaign import load_file
from cctool.dialer import DbRun, RunOptions, run_campaign
from cctool.store import Store
from cctool.timeutil import from_iso, to_iso
from tests.dialer_support import START, SURVEY, add_contacts, load_campaign


def consistent(store: Store, campaign: str) -> None:
    """Every recorded attempt matches its contact's state: nothing lost, nothing repeated."""
    conn = store.conn
    mismatched = conn.execute(
        "SELECT d.contact_id, d.attempts, (SELECT count(*) FROM attempts a WHERE a.campaign = d.campaign "
        "AND a.contact_id = d.contact_id) n FROM dial_contacts d WHERE d.campaign = ? AND d.attempts != n",
        (campaign,),
    ).fetchall()
    assert mismatched == []
    duplicates = conn.execute(
        "SELECT contact_id, started_at, count(*) FROM attempts WHERE campaign = ? "
        "GROUP BY contact_id, started_at HAVING count(*) > 1",
        (campaign,),
    ).fetchall()
    assert duplicates == []
    stale = conn.execute(  # the contact's last attempt is its latest recorded one
        "SELECT d.contact_id FROM dial_contacts d JOIN attempts a ON a.id = (SELECT max(id) FROM attempts x "
        "WHERE x.campaign = d.campaign AND x.contact_id = d.contact_id) WHERE d.campaign = ? "
        "AND (d.last_attempt_at IS NOT a.started_at OR d.last_outcome IS NOT a.outcome)",
        (campaign,),
    ).fetchall()
    assert stale == []


def run(store: Store, campaign: str = "survey", **kw) -> dict:
    opts = RunOptions(
        campaign, agents=kw.pop("agents", 5), for_s=kw.pop("for_s", 4 * 3600), start=START, **kw
    )
    return run_campaign(store, opts)


def test_a_run_records_every_attempt_with_its_decision_and_outcome(store: Store, tmp_path: Path) -> None:
    load_campaign(store, tmp_path)
    add_contacts(store, 120)
    summary = run(store, seed=3)
    assert summary["attempts"] > 120
    rows = store.conn.execute(
        "SELECT zone, zone_source, local_time, caller_id, rules_checked, trunk, outcome, abandoned, safe_harbour,"
        " agent, talk_s, disposition, script_version FROM attempts"
    ).fetchall()
    assert len(rows) == summary["attempts"]
    for zone, source, local, caller, rules, trunk, outcome, abandoned, harbour, agent, talk, disp, sv in rows:
        assert zone == "America/New_York" and source == "number" and local.startswith("2026-12-01T1")
        assert caller == "+14155550100" and "opted_out" in rules and trunk == "mock" and sv
        assert abandoned == harbour == (outcome == "abandoned")
        if outcome == "answered":
            assert agent and talk > 0 and disp
    # what a call that reached no one leaves empty is NULL (`IS NULL` in a report), not a stand-in value
    empty = store.conn.execute(
        "SELECT count(*), count(disposition), count(talk_s), count(wrap_s), count(agent), count(connect_delay_s),"
        " count(callback_id), count(sip_code), count(call_id), min(ring_s) FROM attempts WHERE outcome != 'answered'"
        " AND outcome != 'abandoned'"
    ).fetchone()
    assert empty[0] > 0 and empty[1:9] == (0,) * 8 and empty[9] > 0
    consistent(store, "survey")
    states = dict(store.conn.execute("SELECT state, count(*) FROM dial_contacts GROUP BY state").fetchall())
    assert set(states) <= {"pending", "done", "exhausted", "suppressed"} and states.get("done")
    # one audit row per run start, end and batch: not one per attempt
    actions = store.conn.execute(
        "SELECT action, count(*) FROM audit_log WHERE entity = 'dial_run' GROUP BY action"
    )
    counts = dict(actions.fetchall())
    assert counts["start"] == counts["end"] == 1 and 1 <= counts["batch"] < summary["attempts"] / 5


def test_same_seed_same_run(tmp_path: Path) -> None:
    from cctool.store import open_store

    outcomes = []
    for name in ("a", "b"):
        opened = open_store(tmp_path / f"{name}.db", actor="t", command="t")
        load_campaign(opened, tmp_path)
        add_contacts(opened, 80)
        run(opened, seed=7)
        outcomes.append(
            opened.conn.execute(
                "SELECT contact_id, started_at, outcome, disposition, talk_s FROM attempts ORDER BY id"
            ).fetchall()
        )
        opened.close()
    assert outcomes[0] == outcomes[1] and len(outcomes[0]) > 80


def test_a_dnc_request_opts_the_number_out_at_once(store: Store, tmp_path: Path) -> None:
    load_campaign(store, tmp_path)
    add_contacts(store, 150)
    run(store, seed=1)
    requests = store.conn.execute(
        "SELECT phone, ended_at FROM attempts WHERE disposition = 'dnc_request'"
    ).fetchall()
    assert requests
    for phone, ended in requests:
        optout = store.conn.execute(
            "SELECT channel, effective_at FROM optouts WHERE phone = ?", (phone,)
        ).fetchone()
        assert optout == ("call", ended)
        later = store.conn.execute(
            "SELECT count(*) FROM attempts WHERE phone = ? AND started_at > ?", (phone, ended)
        ).fetchone()[0]
        assert later == 0
    audited = store.conn.execute("SELECT count(*) FROM audit_log WHERE entity = 'optout'").fetchone()[0]
    assert audited == len(requests)
    suppressed = store.conn.execute(
        "SELECT count(*) FROM dial_contacts WHERE state = 'suppressed'"
    ).fetchone()[0]
    assert suppressed >= len(requests)


def not_dialed_after(store: Store, phone: str, opted_out: datetime) -> list[tuple[str, str]]:
    """The number was dialed before `opted_out` and not from then on: every later try was refused as
    opted out. Returns the refusals (reasons, at)."""
    started = [
        from_iso(r[0])
        for r in store.conn.execute("SELECT started_at FROM attempts WHERE phone = ?", (phone,))
    ]
    assert started and all(t < opted_out for t in started)
    refused = store.conn.execute("SELECT reasons, at FROM blocked_dials WHERE phone = ?", (phone,)).fetchall()
    assert all("opted_out" in reasons and from_iso(at) >= opted_out for reasons, at in refused)
    return refused


def test_a_number_opted_out_during_the_run_is_not_dialed_after_that_instant(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_campaign(store, tmp_path)
    ids = add_contacts(store, 40)
    # the last contact is dialed late in the run; a first try in the first minutes is likely busy/no answer
    target = store.conn.execute("SELECT phone FROM contacts WHERE id = ?", (ids[0],)).fetchone()[0]
    cut = START + timedelta(minutes=30)
    original = DbRun.on_tick
    done = []

    def tick(self: DbRun, now_s: float) -> None:
        if not done and self.at(now_s) >= cut:
            with self.store.write() as conn:  # what `cctool optout` does, at that instant
                conn.execute(
                    "INSERT INTO optouts (phone, channel, source, requested_at, effective_at, actor) "
                    "VALUES (?, 'phone', 'cli', ?, ?, 'tester')",
                    (target, to_iso(self.at(now_s)), to_iso(self.at(now_s))),
                )
                self.store.audit("optout", None, "add", {})
            done.append(self.at(now_s))
        original(self, now_s)

    monkeypatch.setattr(DbRun, "on_tick", tick)
    run(store, seed=2, agents=2)
    assert done
    refused = not_dialed_after(store, target, done[0])
    state = store.conn.execute("SELECT state FROM dial_contacts WHERE contact_id = ?", (ids[0],)).fetchone()[
        0
    ]
    # either its retry came up and was refused, or it had ended before the opt-out
    assert state in ("suppressed", "done", "exhausted") or not refused


@pytest.mark.parametrize("mode", ["progressive", "preview"])
def test_progressive_and_preview_never_abandon(store: Store, tmp_path: Path, mode: str) -> None:
    load_campaign(store, tmp_path, mode=mode)
    add_contacts(store, 100)
    summary = run(store, seed=4, agents=3)
    assert summary["mode"] == mode and summary["attempts"] > 50
    assert summary["abandoned"] == 0
    consistent(store, "survey")


def test_abandonment_stays_under_the_cap_over_a_long_run(store: Store, tmp_path: Path) -> None:
    load_campaign(store, tmp_path, total=8)
    add_contacts(store, 3000)
    summary = run(store, seed=5, agents=20, for_s=12 * 3600)
    assert summary["live_answers"] > 1000
    assert summary["abandon_rate"] <= 0.03
    status = dialer.status(store.conn, "survey")
    assert status["abandonment"]["rate"] <= 0.03 and status["abandonment"]["live_answers"] > 1000
    played = store.conn.execute("SELECT count(*) FROM attempts WHERE safe_harbour = 1").fetchone()[0]
    assert played == summary["abandoned"] > 0


def _complaint_with_a_due_callback(store: Store, contact_id: int) -> None:
    """Ticket 1 (a complaint) and callback 1 for it, due five minutes before the run starts."""
    with store.write() as conn:
        conn.execute(
            "INSERT INTO tickets (phone, contact_id, kind, subject, created_at, updated_at, created_by) "
            "VALUES ((SELECT phone FROM contacts WHERE id = ?), ?, 'complaint', 'router', ?, ?, 't')",
            (contact_id, contact_id, to_iso(START), to_iso(START)),
        )
        conn.execute(
            "INSERT INTO callbacks (phone, contact_id, due_at, campaign, ticket_id, requested_by_customer, "
            "created_at, created_by) VALUES ((SELECT phone FROM contacts WHERE id = ?), ?, ?, 'survey', 1, 1, ?, "
            "'t')",
            (
                contact_id,
                contact_id,
                to_iso(START - timedelta(minutes=5)),
                to_iso(START - timedelta(hours=1)),
            ),
        )
        store.audit("callback", None, "schedule", {})


def _everyone_answers(folder: Path) -> Path:
    model = folder / "answers.yaml"
    model.write_text("live_rate: 1.0\nbusy_rate: 0\nmachine_rate: 0\n", encoding="utf-8")
    return model


def test_due_callbacks_go_before_fresh_contacts_and_close_with_their_ticket(
    store: Store, tmp_path: Path
) -> None:
    load_campaign(store, tmp_path)
    ids = add_contacts(store, 30)
    last = ids[-1]
    _complaint_with_a_due_callback(store, last)
    run(store, seed=1, agents=1, for_s=600, model=_everyone_answers(tmp_path))
    first = store.conn.execute(
        "SELECT id, contact_id, callback_id, callback_requested, outcome FROM attempts ORDER BY started_at, id LIMIT 1"
    ).fetchone()
    assert first[1:] == (last, 1, 1, "answered")
    assert store.conn.execute("SELECT status FROM callbacks WHERE id = 1").fetchone()[0] == "done"
    link = store.conn.execute("SELECT event, ref FROM ticket_events WHERE ticket_id = 1").fetchone()
    assert link[0] == "link" and json.loads(link[1]) == {"callback": 1, "attempt": first[0]}


def test_a_callback_cancelled_while_the_dialer_held_it_stays_cancelled_and_its_ticket_hears_of_the_call(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_campaign(store, tmp_path)
    last = add_contacts(store, 5)[-1]
    _complaint_with_a_due_callback(store, last)
    real_done = callbacks.mark_done

    def cancelled_meanwhile(store_, callback_id, *args, **kwargs):  # a supervisor cancels it mid-call
        dialer_actor, store_.actor = store_.actor, "supervisor"
        try:  # (the same connection: the run's batch transaction holds the write lock)
            callbacks.cancel(store_, callback_id, at=START)
        finally:
            store_.actor = dialer_actor
        return real_done(store_, callback_id, *args, **kwargs)

    monkeypatch.setattr(callbacks, "mark_done", cancelled_meanwhile)
    run(store, seed=1, agents=1, for_s=600, model=_everyone_answers(tmp_path))
    attempt = store.conn.execute("SELECT id FROM attempts WHERE callback_id = 1").fetchone()[0]
    assert store.conn.execute("SELECT status FROM callbacks WHERE id = 1").fetchone()[0] == "cancelled"
    events = store.conn.execute(
        "SELECT note, ref FROM ticket_events WHERE ticket_id = 1 ORDER BY id"
    ).fetchall()
    assert [json.loads(ref) for _, ref in events] == [{"callback": 1}, {"callback": 1, "attempt": attempt}]
    assert "the dialer reached the person" in events[-1][0]
    logged = store.conn.execute(
        "SELECT payload FROM audit_log WHERE entity = 'callback' AND action = 'reached_by_dialer'"
    ).fetchone()
    assert json.loads(logged[0])["attempt"] == attempt


def test_a_paused_campaign_or_an_unknown_one_is_refused(store: Store, tmp_path: Path) -> None:
    from cctool.errors import UserError

    with pytest.raises(UserError, match="no campaign named"):
        run(store, "nope")
    load_campaign(store, tmp_path)
    store.conn.execute("UPDATE campaigns SET paused = 1")
    with pytest.raises(UserError, match="paused"):
        run(store)
    assert store.conn.execute("SELECT count(*) FROM dial_runs").fetchone()[0] == 0


def test_the_same_engine_runs_in_real_time_on_the_wall_clock(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a SIP trunk gets: the wall clock, real seconds (here a fast model so the test takes 2 s)."""
    from cctool.clock import WallClock
    from cctool.mocktrunk import MockTrunk

    # the engine draws talk and wrap times from the run's model: the trunk's alone would leave the agents
    # talking for minutes of real time after the 2 s of dialing
    fast = tmp_path / "fast.yaml"
    fast.write_text("ring_min_s: 0.05\nring_max_s: 0.2\nbusy_after_s: 0.05\nmachine_detect_s: 0.05\n"
                    "no_answer_s: 0.3\naht_s: 0.2\nwrap_s: 0.05\n")  # fmt: skip
    monkeypatch.setattr(
        dialer, "make_trunk", lambda value, model, seed: (MockTrunk(model, seed), WallClock())
    )
    load_campaign(store, tmp_path)
    add_contacts(store, 40)
    # real time: the contacts live where it is now daytime, inside the campaign's 08:00-21:00 (in New York
    # the test found nobody to call from 02:00 to 13:00 UTC)
    now = datetime.now(UTC)
    zones = ("Pacific/Kiritimati", "Asia/Tokyo", "Europe/Moscow", "Europe/London", "America/New_York",
             "Pacific/Honolulu")  # fmt: skip
    daytime = next(z for z in zones if 10 <= now.astimezone(ZoneInfo(z)).hour < 18)
    with store.write() as conn:
        conn.execute("UPDATE contacts SET timezone = ?", (daytime,))
        store.audit("contacts", None, "test_zone", {})
    began = time.monotonic()
    summary = run_campaign(
        store, RunOptions("survey", trunk="sip.yaml", model=fast, agents=3, for_s=2.0, seed=1)
    )
    assert time.monotonic() - began < 30  # the last calls drained in real time, not in the default model's
    assert summary["attempts"] > 10
    row = store.conn.execute("SELECT trunk, sim_start, sim_end FROM dial_runs").fetchone()
    assert row[0] == "sip.yaml" and (from_iso(row[2]) - from_iso(row[1])).total_seconds() >= 2.0
    consistent(store, "survey")


def test_a_refusal_in_the_same_batch_as_an_attempt_keeps_the_attempt_as_the_last(
    store: Store, tmp_path: Path
) -> None:
    """A busy number is retried ten minutes later and refused by the daily cap while the attempt is still
    in the unwritten batch: the contact's last attempt stays that attempt."""
    path = tmp_path / "daily.yaml"
    text = SURVEY.format(name="daily", mode="progressive", tag="list", total=4)
    path.write_text(text.replace("caps: {total: 4}", "caps: {total: 4, per_day: 1}"), encoding="utf-8")
    campaign_store.load(store, load_file(path))
    add_contacts(store, 40)
    summary = run(store, "daily", for_s=2 * 3600)
    assert summary["blocked"] > 0 and summary["batches"] <= 3  # refusals, written with their attempts
    reasons = store.conn.execute("SELECT DISTINCT reasons FROM blocked_dials").fetchall()
    assert ("cap_day",) in reasons
    consistent(store, "daily")


def test_a_callback_the_dialer_cannot_reach_goes_back_in_the_queue_with_its_note_and_the_try_on_the_ticket(
    store: Store, tmp_path: Path
) -> None:
    load_campaign(store, tmp_path)
    last = add_contacts(store, 3)[-1]
    _complaint_with_a_due_callback(store, last)
    store.conn.execute("UPDATE callbacks SET note = 'router keeps dropping, call after lunch' WHERE id = 1")
    model = tmp_path / "busy.yaml"
    model.write_text("live_rate: 0\nbusy_rate: 1.0\nmachine_rate: 0\n", encoding="utf-8")
    run(store, seed=1, agents=1, for_s=120, model=model)
    attempt_id, ended = store.conn.execute(
        "SELECT id, ended_at FROM attempts WHERE callback_id = 1"
    ).fetchone()
    status, due, note, claimed_by = store.conn.execute(
        "SELECT status, due_at, note, claimed_by FROM callbacks WHERE id = 1"
    ).fetchone()
    assert (status, note, claimed_by) == ("scheduled", "router keeps dropping, call after lunch", None)
    assert from_iso(due) >= from_iso(ended) + timedelta(minutes=10)  # the campaign's busy retry delay
    released = store.conn.execute(
        "SELECT payload FROM audit_log WHERE entity = 'callback' AND action = 'release'"
    ).fetchone()
    assert json.loads(released[0]) == {"outcome": "busy", "attempt": attempt_id, "due_at": due}
    event = store.conn.execute(
        "SELECT note, ref FROM ticket_events WHERE ticket_id = 1 ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert "callback tried: busy" in event[0] and json.loads(event[1]) == {
        "callback": 1,
        "attempt": attempt_id,
    }


def test_a_retry_is_never_planned_before_the_campaigns_minimum_gap() -> None:
    gap = {"caps": {"min_gap_s": 4 * 3600}, "retry_s": {"busy": 600, "callback": 1800}}
    assert dialer.after_attempt(gap, 1, "busy", None) == ("pending", 4 * 3600.0)
    assert dialer.after_attempt(gap, 1, "answered", "callback") == ("pending", 4 * 3600.0)
    assert dialer.after_attempt({"retry_s": {"busy": 600}}, 1, "busy", None) == ("pending", 600.0)
    locked = {"caps": {"min_gap_s": 600}, "dialing": {"abandon_lock_s": 7200}}
    assert dialer.after_attempt(locked, 1, "abandoned", None) == ("pending", 7200.0)
    assert dialer.after_attempt(gap, 1, "answered", "not_interested") == ("done", None)


def test_a_due_callback_refused_at_dial_time_goes_back_in_the_queue(store: Store, tmp_path: Path) -> None:
    """A callback the decision refuses (the number opted out meanwhile) was left `claimed` by the dialer
    for good: no one else could take it and `callback due` no longer listed it."""
    from cctool import optout

    load_campaign(store, tmp_path)
    last = add_contacts(store, 5)[-1]
    _complaint_with_a_due_callback(store, last)
    phone = store.conn.execute("SELECT phone FROM contacts WHERE id = ?", (last,)).fetchone()[0]
    optout.record(store, phone, "web", requested_at=START - timedelta(hours=2))
    with store.write() as conn:  # the dialer's own follow-up, not a time the customer asked for
        conn.execute("UPDATE callbacks SET requested_by_customer = 0 WHERE id = 1")
        store.audit("callback", 1, "test_update", {})
    run(store, seed=1, agents=1, for_s=600)
    assert (
        store.conn.execute("SELECT count(*) FROM attempts WHERE contact_id = ?", (last,)).fetchone()[0] == 0
    )
    refused = store.conn.execute(
        "SELECT count(*) FROM blocked_dials WHERE contact_id = ?", (last,)
    ).fetchone()
    assert refused[0] == 1  # once in the run, not again at every poll
    status, claimed_by = store.conn.execute(
        "SELECT status, claimed_by FROM callbacks WHERE id = 1"
    ).fetchone()
    assert (status, claimed_by) == ("scheduled", None)


def test_callbacks_claimed_but_not_dialed_when_a_run_ends_go_back_in_the_queue(
    store: Store, tmp_path: Path
) -> None:
    load_campaign(store, tmp_path)
    last = add_contacts(store, 5)[-1]
    _complaint_with_a_due_callback(store, last)
    with store.write() as conn:  # a second callback, due with the first; one agent, a run of one second
        conn.execute(
            "INSERT INTO callbacks (phone, contact_id, due_at, campaign, created_at, created_by) "
            "SELECT phone, id, ?, 'survey', ?, 't' FROM contacts WHERE id = ?",
            (to_iso(START - timedelta(minutes=5)), to_iso(START - timedelta(hours=1)), last - 1),
        )
        store.audit("callback", None, "schedule", {})
    run(store, seed=1, agents=1, for_s=1, mode="progressive")
    statuses = dict(store.conn.execute("SELECT id, status FROM callbacks").fetchall())
    dialed = {
        r[0] for r in store.conn.execute("SELECT callback_id FROM attempts WHERE callback_id IS NOT NULL")
    }
    assert len(dialed) == 1
    assert all(statuses[i] == "scheduled" for i in statuses if i not in dialed), statuses
