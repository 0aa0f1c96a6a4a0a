"""Ctrl-C in the middle of a big import, in a real process with its parsing workers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from .contacts_helpers import snapshot


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def test_ctrl_c_during_a_big_import_keeps_nothing_and_leaves_no_workers(tmp_path: Path) -> None:
    if not Path("/proc/self/task").exists():
        return  # needs Linux /proc to see the workers
    csv_path = tmp_path / "big.csv"
    with open(csv_path, "w") as handle:
        handle.write("phone,name,tags\n")
        for n in range(400_000):
            handle.write(f"+1212{2000000 + n * 7 % 7999999:07d},Person {n},t{n % 9}\n")
    db = tmp_path / "big.db"
    subprocess.run([sys.executable, "-m", "cctool", "--db", str(db), "init"], check=True, capture_output=True)
    before = snapshot(db)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cctool", "--db", str(db), "contacts", "import", str(csv_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CCTOOL_IMPORT_WORKERS": "2"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background shell ignores it
    )
    deadline = time.monotonic() + 60
    while len(_children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = _children(proc.pid)
    assert len(workers) >= 2, "the import did not start its parsing workers"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip() == "cctool: interrupted; nothing half-written was kept"
    assert "Traceback" not in err and out == ""
    assert snapshot(db) == before
    time.sleep(0.2)
    assert not [w for w in workers if Path(f"/proc/{w}").exists() and "zombie" not in _state(w)]
    assert not (tmp_path / "big.rejects.csv").exists()
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM contacts").fetchone()[0] == 0


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"
