"""`cctool dial run|status` and `cctool report campaign` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cctool.errors import UserError
from cctool.store import Store
from tests.dialer_support import START, add_contacts, load_campaign


def test_dial_run_status_and_report_through_the_cli(cli, store: Store, tmp_path: Path) -> None:
    load_campaign(store, tmp_path)
    add_contacts(store, 100)
    result = cli("dial", "run", "survey", "--trunk", "mock", "--agents", "4", "--for", "3h",
                 "--start", START.isoformat(), "--seed", "9", "--json")  # fmt: skip
    assert result.code == 0, result.stderr
    run = result.json
    assert run["attempts"] > 100 and run["mode"] == "predictive" and run["abandon_rate"] <= 0.03
    status = cli("dial", "status", "survey", "--json")
    assert status.code == 0
    doc = status.json
    assert doc["attempts"] == run["attempts"] and sum(doc["contacts"].values()) == 100
    assert doc["abandonment"]["formula"].startswith("abandoned / live answers")
    report = cli("report", "campaign", "survey", "--json")
    assert report.code == 0
    kpis = report.json
    assert kpis["attempts"] == run["attempts"] and kpis["connects"] > 0
    assert 0 < kpis["occupancy"] <= 1 and kpis["aht_s"] > 15
    # 100 contacts run out before the 3 h: the agents count as logged in until dialing stopped, as in the run
    assert 0 < kpis["logged_in_hours"] < 12.0
    assert abs(kpis["occupancy"] - run["occupancy"]) < 0.01
    assert kpis["by_hour"] and kpis["attempts_per_contact"] > 1
    human = cli("report", "campaign", "survey")
    assert "occupancy" in human.stdout and "abandonment (0..3%)" in human.stdout
    # an hour's rate beside the period's: the cap applies to the window's count
    rate = kpis["abandonment"]["rate"]
    assert f"{rate:.2%} in the period (the cap, 3%, is per 30 days)" in " ".join(human.stdout.split())


def test_a_model_file_changes_the_calls(cli, store: Store, tmp_path: Path) -> None:
    load_campaign(store, tmp_path)
    add_contacts(store, 30)
    model = tmp_path / "model.yaml"
    model.write_text("live_rate: 0.0\nbusy_rate: 1.0\nmachine_rate: 0\n", encoding="utf-8")
    result = cli(
        "dial", "run", "survey", "--model", str(model), "--for", "1h", "--start", START.isoformat(), "--json"
    )
    assert result.code == 0, result.stderr
    assert set(result.json["outcomes"]) == {"busy"}


def test_bad_inputs_are_one_line_errors_and_change_nothing(cli, store: Store, tmp_path: Path) -> None:
    load_campaign(store, tmp_path)
    add_contacts(store, 5)
    bad_model = tmp_path / "bad.yaml"
    bad_model.write_text("live_rat: 0.3\n", encoding="utf-8")
    cases = [  # an option's value that is not what it names is a usage error (2); the rest, 1
        (["dial", "run", "nope"], "no campaign named 'nope'", 1),
        (["dial", "run", "survey", "--for", "soon"], "--for", 2),
        (["dial", "run", "survey", "--agents", "0"], "--agents", 2),
        (["dial", "run", "survey", "--agents", "99999999"], "--agents must be from 1 to 5,000", 2),
        (["dial", "run", "survey", "--seed", "99999999999999999999999"], "--seed", 2),
        (["dial", "run", "survey", "--model", str(bad_model)], "unknown setting 'live_rat'", 1),
        (["dial", "run", "survey", "--trunk", str(tmp_path / "none.yaml")], "trunk file", 1),
        (["dial", "status", "nope"], "no campaign named", 1),
        (["report", "campaign", "survey", "--from", "2026-13-01"], "--from", 2),
    ]
    for args, message, code in cases:
        result = cli(*args)
        assert result.code == code, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert store.conn.execute("SELECT count(*) FROM dial_runs").fetchone()[0] == 0


def test_the_demo_step_dials_each_campaign_for_a_day_and_reports(store: Store, tmp_path: Path) -> None:
    from cctool.dialer_demo import demo

    load_campaign(store, tmp_path)
    add_contacts(store, 60)
    said: list[str] = []
    demo(store, tmp_path, said.append)
    text = "\n".join(said)
    assert "survey" in text and "attempts" in text and "occupancy" in text and "abandonment (0..3%)" in text
    assert store.conn.execute("SELECT count(*) FROM attempts").fetchone()[0] > 60


def test_agents_take_staggered_breaks(cli, store: Store, tmp_path: Path) -> None:
    load_campaign(store, tmp_path)
    add_contacts(store, 400)
    args = ["dial", "run", "survey", "--agents", "4", "--for", "4h", "--start", START.isoformat(), "--seed", "3",
            "--mode", "progressive", "--json"]  # fmt: skip
    without = cli(*args).json
    store.conn.execute("DELETE FROM attempts")  # same contacts again, same seed
    store.conn.execute("UPDATE dial_contacts SET state = 'pending', attempts = 0, next_at = NULL")
    with_breaks = cli(*args, "--breaks", "1h:20m").json
    # 4 agents x 3 breaks of 20 minutes = 4 of 16 agent-hours away: fewer calls, still busy when logged in
    assert with_breaks["attempts"] < without["attempts"] * 0.9
    assert with_breaks["occupancy"] > 0.5
    bad = cli("dial", "run", "survey", "--breaks", "15m:1h")
    assert bad.code == 2 and "--breaks" in bad.stderr


def test_the_report_counts_agents_on_break_as_away_like_the_run(cli, store: Store, tmp_path: Path) -> None:
    load_campaign(store, tmp_path)
    add_contacts(store, 400)
    run = cli("dial", "run", "survey", "--agents", "4", "--for", "4h", "--start", START.isoformat(),
              "--seed", "3", "--breaks", "1h:20m", "--json").json  # fmt: skip
    kpis = cli("report", "campaign", "survey", "--json").json
    # 4 agents x 4 h less their breaks of 20 minutes each hour (staggered, a late one cut by the end of the
    # run): about 12 agent-hours available, not 16
    assert 11.5 < kpis["logged_in_hours"] < 13.0
    assert abs(kpis["occupancy"] - run["occupancy"]) < 0.01


def test_a_model_file_with_impossible_times_or_rates_is_refused_before_dialing(
    cli, store: Store, tmp_path: Path
) -> None:
    """A typo in the call model (a negative or infinite time, NaN, a yes for a number, a folder for a
    file) is one line naming the file and the setting: before, `no_answer_s: -1` tried the whole list in
    a minute and a folder was a traceback."""
    load_campaign(store, tmp_path)
    add_contacts(store, 5)
    model = tmp_path / "model.yaml"
    cases = [
        ("no_answer_s: -1\n", "no_answer_s is -1: it must be a finite number >= 0"),
        ("busy_after_s: -3\n", "busy_after_s is -3"),
        ("machine_detect_s: -2\n", "machine_detect_s is -2"),
        ("live_rate: .nan\n", "live_rate is nan"),
        ("aht_s: .inf\n", "aht_s is inf"),
        ("wrap_s: .inf\n", "wrap_s is inf"),
        ("live_rate: yes\n", "live_rate must be a number, not True"),
        ("dispositions: {sale: 0, other: 0}\n", "at least one of them more than 0"),
        ("live_rate: 1\n", "live_rate 1 + busy_rate 0.1 + machine_rate 0.1 + invalid_rate 0 = 1.2"),
    ]
    for text, message in cases:
        model.write_text(text, encoding="utf-8")
        result = cli("dial", "run", "survey", "--model", str(model), "--start", START.isoformat())
        assert result.code == 1, (text, result.stderr)
        assert message in result.stderr, (text, result.stderr)
        assert str(model) in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = cli("dial", "run", "survey", "--model", str(tmp_path))
    assert result.code == 1 and "cannot be read" in result.stderr and str(tmp_path) in result.stderr
    assert store.conn.execute("SELECT count(*) FROM dial_runs").fetchone()[0] == 0
    model.write_text("live_rate: 1e-3\nbusy_rate: '0.2'\n", encoding="utf-8")  # YAML reads 1e-3 as text
    assert cli("dial", "run", "survey", "--model", str(model), "--for", "10m",
               "--start", START.isoformat()).code == 0  # fmt: skip


def test_out_of_range_numbers_and_times_are_one_line_errors(cli, store: Store, tmp_path: Path) -> None:
    """`--speed nan`, a run that would end after 9999, a duration too long for Python and a report up to
    9999-12-31 were tracebacks (the first two also left a `failed` run behind)."""
    load_campaign(store, tmp_path)
    add_contacts(store, 5)
    cases = [
        (["dial", "run", "survey", "--speed", "nan"], "--speed", 2),
        (
            ["dial", "run", "survey", "--start", "9999-12-31T20:00", "--for", "8h"],
            "give a date from 1970 to 2999",
            2,
        ),
        (["dial", "run", "survey", "--for", "99999999999999999999h"], "--for: duration", 2),
        (["dial", "run", "survey", "--breaks", "99999999999999999999h:1m"], "--breaks", 2),
    ]
    for args, message, code in cases:
        result = cli(*args)
        assert result.code == code and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    assert store.conn.execute("SELECT count(*) FROM dial_runs").fetchone()[0] == 0
    result = cli("report", "campaign", "survey", "--from", "1970-01-01", "--to", "2999-12-31", "--json")
    assert result.code == 0 and result.json["attempts"] == 0
    beyond = cli("report", "campaign", "survey", "--from", "0001-01-01", "--to", "9999-12-31")
    assert (beyond.code, beyond.stderr) == (
        2,
        "cctool: --from '0001-01-01' is out of range: give a date from 1970 to 2999\n",
    )


def test_a_database_that_cannot_be_written_is_not_called_foreign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a read-only file system SQLite cannot open a WAL database ("unable to open database file"):
    the message said the file was not a cctool database."""
    import sqlite3

    from cctool import store as store_module

    db = tmp_path / "ro.db"
    store_module.open_store(db, actor="t").close()

    class ReadOnlyConnection:
        def execute(self, *args: object) -> None:
            raise sqlite3.OperationalError("unable to open database file")

        def close(self) -> None:
            pass

    monkeypatch.setattr(store_module.sqlite3, "connect", lambda *a, **k: ReadOnlyConnection())
    monkeypatch.setattr(store_module.os, "access", lambda path, mode: mode != store_module.os.W_OK)
    with pytest.raises(UserError, match="cannot be written .* fix the permissions or copy it"):
        store_module.connect(db)


def test_a_run_waits_for_contacts_that_come_due_before_its_end(cli, store: Store, tmp_path: Path) -> None:
    """Run again while every contact waits for its retry time: the retries due within --for are dialed.
    Before, such a run ended at once with "0 attempts" (a second `dial run` straight after a first one)."""
    from datetime import timedelta

    load_campaign(store, tmp_path)
    add_contacts(store, 20)
    model = tmp_path / "model.yaml"
    model.write_text("live_rate: 0\nbusy_rate: 0\nmachine_rate: 0\n", encoding="utf-8")  # no answer: 1h retry
    first = cli("dial", "run", "survey", "--model", str(model), "--for", "10m", "--start", START.isoformat(),
                "--json")  # fmt: skip
    assert first.code == 0 and first.json["attempts"] == 20
    later = (START + timedelta(minutes=20)).isoformat()
    second = cli("dial", "run", "survey", "--model", str(model), "--for", "2h", "--start", later, "--json")
    assert second.code == 0 and second.json["attempts"] >= 20, second.json
    when, contacts = store.conn.execute(
        "SELECT min(started_at), count(DISTINCT contact_id) FROM attempts WHERE run_id = 2"
    ).fetchone()
    assert contacts == 20
    assert when >= (START + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")  # at their retry time, not before


def test_a_run_that_runs_out_of_contacts_early_is_charted_over_the_time_it_dialed(
    cli, store: Store, tmp_path: Path
) -> None:
    """20 contacts and 8 hours: the run stops after minutes. Its span used to end 8 hours on, so the
    report spread its agents' time over 8 hours: the hour it dialed showed 100 % occupancy (the run's was
    a third of that) and the seven after it 0 %."""
    from datetime import timedelta

    from cctool.timeutil import from_iso

    load_campaign(store, tmp_path)
    add_contacts(store, 20)
    model = tmp_path / "model.yaml"
    model.write_text("live_rate: 1\nbusy_rate: 0\nmachine_rate: 0\n", encoding="utf-8")  # all done at once
    run = cli("dial", "run", "survey", "--model", str(model), "--agents", "5", "--for", "8h",
              "--start", START.isoformat(), "--json").json  # fmt: skip
    sim_end = store.conn.execute("SELECT sim_end FROM dial_runs").fetchone()[0]
    assert from_iso(sim_end) - START < timedelta(hours=1)
    report = cli("report", "campaign", "survey", "--json").json
    assert [h["hour_utc"] for h in report["by_hour"]] == [START.hour]
    assert abs(report["by_hour"][0]["occupancy"] - run["occupancy"]) < 0.05 < run["occupancy"] < 0.9
    # a run to the end of --for: the calls still up then finish, but the agents' span ends with dialing,
    # so the hour after it is no column at 0 % ("min 0.0%" under the chart)
    add_contacts(store, 400, first=100)
    later = START + timedelta(days=1)
    cli("dial", "run", "survey", "--agents", "5", "--for", "1h", "--start", later.isoformat())
    sim_end = store.conn.execute("SELECT sim_end FROM dial_runs WHERE id = 2").fetchone()[0]
    assert from_iso(sim_end) == later + timedelta(hours=1)
    report = cli("report", "campaign", "survey", "--from", later.date().isoformat(), "--json").json
    assert [h["hour_utc"] for h in report["by_hour"]] == [later.hour]


def test_the_run_summary_gives_the_window_the_cap_applies_to_and_says_when_nothing_was_due(
    cli, store: Store, tmp_path: Path
) -> None:
    """A short run's own abandonment (4 of 118 = 3.39 %) was shown alone, read as a breach of the 3 % cap,
    which is on the campaign's window; and a run with nothing to dial just said "0 attempts"."""
    load_campaign(store, tmp_path)
    add_contacts(store, 60)
    run = cli("dial", "run", "survey", "--for", "1h", "--start", START.isoformat(), "--json").json
    window = run["abandonment_window"]
    assert window["window"] == "30d" and window["cap"] == 0.03
    assert window["live_answers"] == run["live_answers"] and window["abandoned"] == run["abandoned"]
    load_campaign(store, tmp_path, name="nobody", tag="no-such-tag")
    human = cli("dial", "run", "nobody", "--for", "1h", "--start", START.isoformat())
    flat = " ".join(human.stdout.split())
    assert human.code == 0 and "in the campaign's 30d window 0 / 0 = 0.00%, cap 3.00%" in flat
    assert "nothing to dial: no contact of the campaign's segment was due before the run's end" in flat


def test_a_run_stopped_by_a_campaign_wide_refusal_fails_once_with_what_to_do(
    cli, store: Store, tmp_path: Path
) -> None:
    """A marketing campaign with no current registry copy: the first dial is refused for the whole
    campaign. The run wrote that one refusal 200 times and exited 0, so cron saw a success every morning."""
    from cctool import campaign_store
    from cctool.campaign import load_file
    from tests.dialer_support import SURVEY

    path = tmp_path / "promo.yaml"
    text = SURVEY.format(name="promo", mode="predictive", tag="list", total=4)
    text = text.replace("kind: survey", "kind: marketing").replace("satisfaction.j2", "renewal.j2")
    path.write_text(text, encoding="utf-8")
    campaign_store.load(store, load_file(path))
    add_contacts(store, 5)
    result = cli("dial", "run", "promo", "--for", "1h", "--start", START.isoformat(), "--json")
    assert result.code == 1
    assert result.json["stopped"] == "registry_stale" and result.json["attempts"] == 0  # the summary still
    assert result.stderr.startswith("cctool: run 1 of promo stopped: every dial was refused for the whole ")
    assert "`cctool dnc import`" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert store.conn.execute("SELECT count(*) FROM blocked_dials").fetchone()[0] == 1
    states = store.conn.execute("SELECT DISTINCT state FROM dial_contacts").fetchall()
    assert states == [("pending",)]  # not the contacts' fault: they wait for the next run


def test_a_run_killed_mid_way_still_counts_its_agents_time_in_the_report(
    cli, store: Store, tmp_path: Path
) -> None:
    """After `kill -9` a run has its attempts but no end (sim_end is NULL, also once it is found and marked
    interrupted): the report counted its calls as work and none of its agents' time, so occupancy had no
    figure, or beside a finished run went past what the agents could do. (A run still dialing, the same.)"""
    load_campaign(store, tmp_path)
    add_contacts(store, 300)
    cli("dial", "run", "survey", "--agents", "4", "--for", "2h", "--start", START.isoformat())
    with store.write() as conn:  # what a kill -9 leaves, once the next run marks it interrupted
        conn.execute("UPDATE dial_runs SET status = 'interrupted', sim_end = NULL, logged_in_s = NULL")
        store.audit("dial_run", 1, "test_crash", {})
    report = cli("report", "campaign", "survey", "--json").json
    assert report["attempts"] > 0 and 7.0 < report["logged_in_hours"] <= 8.0  # 4 agents x ~2 h
    assert 0.3 < report["occupancy"] <= 1.0


def test_status_of_a_campaign_never_dialed_gives_its_window_end_to_the_second(
    cli, store: Store, tmp_path: Path
) -> None:
    load_campaign(store, tmp_path)
    until = cli("dial", "status", "survey", "--json").json["abandonment"]["until"]
    assert len(until) == len("2026-12-01T21:03:40Z")  # was "2026-12-01T21:03:40.695535Z"


def test_status_before_the_first_run_counts_the_segments_contacts_as_new(
    cli, store: Store, tmp_path: Path
) -> None:
    """Before its first run a campaign of 30 contacts showed 0 in every state: it read as an empty segment."""
    load_campaign(store, tmp_path)
    add_contacts(store, 30)
    doc = cli("dial", "status", "survey", "--json").json
    assert doc["contacts"] == {"new": 30, "pending": 0, "done": 0, "exhausted": 0, "suppressed": 0}
    cli("dial", "run", "survey", "--for", "1m", "--start", START.isoformat())
    add_contacts(store, 5, first=100)  # imported since: the next run takes them in
    contacts = cli("dial", "status", "survey", "--json").json["contacts"]
    assert contacts["new"] == 5 and sum(contacts.values()) == 35
    assert "new" in cli("dial", "status", "survey").stdout
