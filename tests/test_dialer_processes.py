"""Real processes: a run killed with SIGKILL resumes cleanly; two overlapping runs never share a contact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cctool.store import Store, open_store
from tests.dialer_support import START, add_contacts, load_campaign
from tests.test_dialer_run import consistent


def dial(db: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "CCTOOL_ACTOR": "cron"}
    return subprocess.Popen(
        [sys.executable, "-m", "cctool", "--db", str(db), "dial", "run", "survey", "--trunk", "mock",
         "--agents", "3", "--for", "8h", "--start", START.isoformat(), "--json", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def prepared(db: Path, folder: Path, n: int) -> None:
    opened = open_store(db, actor="t", command="t")
    load_campaign(opened, folder)
    add_contacts(opened, n)
    opened.close()


def test_a_run_killed_mid_way_resumes_with_no_attempt_lost_or_repeated(db_path: Path, tmp_path: Path) -> None:
    prepared(db_path, tmp_path, 300)
    proc = dial(db_path, "--speed", "3600", "--seed", "1")
    opened: Store = open_store(db_path, actor="t", command="t")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until some batches are written
            if opened.conn.execute("SELECT count(*) FROM attempts").fetchone()[0] > 20:
                break
            time.sleep(0.1)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert children  # its writer process (`cctool.dialwriter`)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10  # the kernel kills the writer with the run: no orphan writes on
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
            time.sleep(0.05)
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
        before = opened.conn.execute("SELECT count(*) FROM attempts").fetchone()[0]
        assert before > 20
        consistent(opened, "survey")
        leased = opened.conn.execute("SELECT count(*) FROM dial_contacts WHERE lease_owner IS NOT NULL")
        assert leased.fetchone()[0] > 0  # the dead run still holds its claims ...
        again = dial(db_path, "--seed", "2")
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        # ... which the new run frees (its owner is dead) and carries on from
        status = dict(opened.conn.execute("SELECT id, status FROM dial_runs").fetchall())
        assert status == {1: "interrupted", 2: "finished"}
        consistent(opened, "survey")
        after = opened.conn.execute("SELECT count(*) FROM attempts").fetchone()[0]
        assert after > before
        first_run = opened.conn.execute("SELECT count(*) FROM attempts WHERE run_id = 1").fetchone()[0]
        assert first_run == before  # nothing of the killed run was rewritten
    finally:
        opened.close()


def test_two_overlapping_runs_never_dial_the_same_contact_at_once(db_path: Path, tmp_path: Path) -> None:
    prepared(db_path, tmp_path, 5000)  # more than one claim (4,000 contacts with a writer process)
    first = dial(db_path, "--speed", "1800", "--seed", "1")
    watcher = open_store(db_path, actor="t", command="t")
    try:  # the second run starts while the first is surely dialing and holding its claim
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and first.poll() is None:
            if watcher.conn.execute("SELECT count(*) FROM attempts").fetchone()[0] > 0:
                break
            time.sleep(0.1)
    finally:
        watcher.close()
    second = dial(db_path, "--speed", "1800", "--seed", "2")
    for proc in (first, second):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    opened = open_store(db_path, actor="t", command="t")
    try:
        by_run = dict(opened.conn.execute("SELECT run_id, count(*) FROM attempts GROUP BY run_id").fetchall())
        assert set(by_run) == {1, 2}  # both runs dialed
        # a contact's attempts come from one run, or one run after the other finished with it: never interleaved
        for (contact_id,) in opened.conn.execute("SELECT DISTINCT contact_id FROM attempts").fetchall():
            runs = [r for (r,) in opened.conn.execute(
                "SELECT run_id FROM attempts WHERE contact_id = ? ORDER BY id", (contact_id,))]  # fmt: skip
            switches = sum(1 for a, b in zip(runs, runs[1:]) if a != b)
            assert switches <= 1, (contact_id, runs)
        consistent(opened, "survey")
    finally:
        opened.close()


def test_sigterm_ends_the_run_as_interrupted_with_its_attempts_written(db_path: Path, tmp_path: Path) -> None:
    prepared(db_path, tmp_path, 300)
    proc = dial(db_path, "--speed", "3600", "--seed", "1")
    opened = open_store(db_path, actor="t", command="t")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if opened.conn.execute("SELECT count(*) FROM attempts").fetchone()[0] > 10:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "Traceback" not in err
        assert opened.conn.execute("SELECT status FROM dial_runs").fetchone()[0] == "interrupted"
        # the line says what was kept (the generic "nothing half-written was kept" read as all undone)
        written = opened.conn.execute("SELECT count(*) FROM attempts").fetchone()[0]
        assert err.strip() == (
            f"cctool: run 1 of survey interrupted: its {written} attempts are written and its contacts "
            "freed; `cctool dial run survey` again goes on with the contacts left"
        )
        # --json still prints its one document (it printed nothing): what the run did before it stopped
        summary = json.loads(out)
        assert summary["interrupted"] is True and summary["attempts"] == written and summary["run_id"] == 1
        assert (
            opened.conn.execute(
                "SELECT count(*) FROM dial_contacts WHERE lease_owner IS NOT NULL"
            ).fetchone()[0]
            == 0
        )
        consistent(opened, "survey")
    finally:
        opened.close()
