"""`cctool dial run CAMPAIGN --trunk TRUNK.yaml` against SIPp: the dialer engine on a real SIP trunk.

The CLI runs in a child process with a time limit, so a run that never ends fails the test instead of
hanging it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cctool.store import Store

from . import dialer_support as support
from .sippeers import running, start_sipp

pytestmark = pytest.mark.sip


def midday_zone(now: datetime | None = None) -> str:
    """An Etc/GMT zone where it is about 13:00 now, so calling hours never skip the test."""
    hour = (now or datetime.now(UTC)).hour
    offset = (13 - hour + 12) % 24 - 12  # in -12..11
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def add_contacts(store: Store, n: int) -> None:
    zone = midday_zone()
    with store.write() as conn:
        for i in range(n):
            cur = conn.execute(
                "INSERT INTO contacts (phone, region, number_type, number_zones, timezone, created_at, updated_at) "
                "VALUES (?, 'US', 'fixed', ?, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                (f"+1212555{i:04d}", json.dumps(["America/New_York"]), zone),
            )
            conn.execute("INSERT INTO contact_tags (contact_id, tag) VALUES (?, 'list')", (cur.lastrowid,))
        store.audit("contacts", None, "test_import", {"n": n})


def dial_run(
    db: Path, folder: Path, trunk_yaml: str, env: dict[str, str] | None = None, agents: int = 2
) -> subprocess.CompletedProcess[str]:
    model = folder / "model.yaml"
    model.write_text("aht_s: 1.0\ntalk_sigma: 0\nwrap_s: 0.5\n")
    trunk = folder / "trunk.yaml"
    trunk.write_text(trunk_yaml)
    args = [sys.executable, "-m", "cctool", "--db", str(db), "dial", "run", "survey", "--trunk", str(trunk),
            "--agents", str(agents), "--for", "15s", "--model", str(model), "--json"]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


def test_a_run_on_a_sip_trunk_records_each_attempt_with_its_sip_code_and_call_id(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    support.load_campaign(store, tmp_path, mode="progressive", total=1)
    add_contacts(store, 6)
    peer = start_sipp("answer", 6, tmp_path)
    with running(peer):
        result = dial_run(db_path, tmp_path, f"host: 127.0.0.1\nport: {peer.port}\nring_timeout: 5\n")
        assert result.returncode == 0, result.stderr
        assert peer.wait(30) == 0, peer.tail()
    rows = store.conn.execute("SELECT outcome, sip_code, call_id, trunk FROM attempts").fetchall()
    assert len(rows) == 6
    assert {(outcome, code, trunk) for outcome, code, _, trunk in rows} == {("answered", 200, "trunk.yaml")}
    assert len({call_id for _, _, call_id, _ in rows}) == 6


def test_a_wrong_password_stops_the_run_with_one_line_after_one_attempt(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    support.load_campaign(store, tmp_path, mode="progressive", total=1)
    add_contacts(store, 6)
    peer = start_sipp("badauth", 1, tmp_path)
    with running(peer):
        result = dial_run(
            db_path,
            tmp_path,
            f"host: 127.0.0.1\nport: {peer.port}\nusername: cctool\npassword_env: TEST_TRUNK_PW\n",
            env={"TEST_TRUNK_PW": "not-the-password"},
            agents=1,
        )
        assert peer.wait(30) == 0, peer.tail()
    assert result.returncode == 1 and result.stderr.strip().endswith("trunk rejected credentials")
    assert "not-the-password" not in result.stdout + result.stderr
    rows = store.conn.execute("SELECT outcome, sip_code FROM attempts").fetchall()
    assert rows == [("failed", 403)]


def test_ctrl_c_hangs_up_every_answered_call_and_records_it(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    support.load_campaign(store, tmp_path, mode="progressive", total=1)
    add_contacts(store, 6)
    peer = start_sipp("answer", 2, tmp_path)  # two calls, each waits for our BYE
    (tmp_path / "model.yaml").write_text("aht_s: 600\ntalk_sigma: 0\nwrap_s: 1\n")
    (tmp_path / "trunk.yaml").write_text(f"host: 127.0.0.1\nport: {peer.port}\nring_timeout: 5\n")
    args = [sys.executable, "-m", "cctool", "--db", str(db_path), "dial", "run", "survey", "--trunk",
            str(tmp_path / "trunk.yaml"), "--agents", "2", "--for", "10m", "--model", str(tmp_path / "model.yaml")]  # fmt: skip
    with running(peer):
        child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(4.0)  # started, both calls answered and talking (talk time is 10 minutes)
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=30)
        finally:
            child.kill()
        assert child.returncode == 130, err
        assert "Traceback" not in err
        assert peer.wait(30) == 0, peer.tail()  # SIPp got a BYE for each call: no leaked dialog
    rows = store.conn.execute("SELECT outcome, sip_code FROM attempts").fetchall()
    assert rows == [("answered", 200), ("answered", 200)]
    status = store.conn.execute("SELECT status FROM dial_runs").fetchone()[0]
    assert status == "interrupted"
