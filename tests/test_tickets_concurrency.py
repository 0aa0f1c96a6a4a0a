"""Real processes at once: one claim wins, overlapping cron runs neither corrupt nor duplicate."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from .conftest import run_process

NOW = "2026-12-01T03:10:00Z"
CN = "+8613800138003"


def _env(actor: str = "cron", now: str = NOW) -> dict[str, str]:
    return {**os.environ, "CCTOOL_ACTOR": actor, "CCTOOL_NOW": now}


def _start(db: Path, *args: str, actor: str = "cron") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cctool", "--db", str(db), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(actor),
    )


def _setup(db: Path, callbacks: int = 1) -> None:
    early = _env(now="2026-12-01T02:00:00Z")
    assert run_process("--db", str(db), "init", env=early).code == 0
    for _ in range(callbacks):
        result = run_process(
            "--db", str(db), "callback", "schedule", CN, "--at", "2026-12-01T11:00", env=early
        )
        assert result.code == 0, result.stderr


def test_two_agents_claiming_the_same_callback_at_once_one_wins(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    _setup(db)
    for round_ in range(3):
        if round_:
            run_process("--db", str(db), "callback", "schedule", CN, "--at", "2026-12-01T11:00",
                        env=_env(now="2026-12-01T02:00:00Z"))  # fmt: skip
        callback_id = str(round_ + 1)
        procs = [
            _start(db, "callback", "claim", callback_id, actor=agent) for agent in ("li", "wang", "zhao")
        ]
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 1, 1], results
        for code, _, err in results:
            if code == 1:
                assert err.startswith(f"cctool: callback {callback_id} was already claimed by ")
                assert "Traceback" not in err
        winner = sqlite3.connect(db).execute("SELECT claimed_by FROM callbacks WHERE id = ?", (callback_id,))
        assert winner.fetchone()[0] in ("li", "wang", "zhao")
    claims = (
        sqlite3.connect(db).execute("SELECT count(*) FROM audit_log WHERE action = 'claim'").fetchone()[0]
    )
    assert claims == 3


def test_overlapping_due_runs_agree_and_mark_missed_once(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    _setup(db, callbacks=3)
    early = _env(now="2026-11-30T02:00:00Z")
    run_process(
        "--db", str(db), "callback", "schedule", CN, "--at", "2026-11-30T11:00", env=early
    )  # will be missed
    procs = [_start(db, "callback", "due", "--json") for _ in range(4)]
    outputs = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert all(code == 0 for code, _, _ in outputs), outputs
    assert len({out for _, out, _ in outputs}) == 1
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'missed'").fetchone()[0] == 1
    assert conn.execute("SELECT status FROM callbacks WHERE id = 4").fetchone()[0] == "missed"
    assert run_process("--db", str(db), "audit", "verify", env=_env()).code == 0


def test_overlapping_ticket_runs_for_a_new_number_make_one_contact(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    assert run_process("--db", str(db), "init", env=_env()).code == 0
    args = ("ticket", "new", "--phone", "+8613900139000", "--kind", "inquiry", "--subject", "Roaming")
    procs = [_start(db, *args) for _ in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs), [p.communicate() for p in procs]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 4
    assert conn.execute("SELECT count(DISTINCT contact_id) FROM tickets").fetchone()[0] == 1
    created = conn.execute("SELECT count(*) FROM audit_log WHERE entity = 'contact' AND action = 'create'")
    assert created.fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM ticket_events WHERE event = 'created'").fetchone()[0] == 4
    assert run_process("--db", str(db), "audit", "verify", env=_env()).code == 0
