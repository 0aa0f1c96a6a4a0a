"""Ctrl-C in the middle of a big import, in a real process with its parsing workers."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .contacts_helpers import snapshot


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_during_a_big_import_keeps_nothing_and_leaves_no_workers(tmp_path: Path, signum: int) -> None:
    """SIGTERM (cron's kill) too: it exited 143 with the workers' BrokenPipeError tracebacks and left the
    staging files, some of the file's contacts, in /tmp."""
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
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip() == "cctool: interrupted; nothing half-written was kept"
    assert "Traceback" not in err and out == ""
    assert snapshot(db) == before
    time.sleep(0.2)
    assert not [w for w in workers if Path(f"/proc/{w}").exists() and "zombie" not in _state(w)]
    assert not (tmp_path / "big.rejects.csv").exists()
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM contacts").fetchone()[0] == 0
    assert not list(Path(tempfile.gettempdir()).glob(f"cctool-import-{proc.pid}-*"))


def test_the_staging_folder_of_a_killed_import_is_removed_by_the_next_one(tmp_path: Path) -> None:
    """`kill -9` runs no cleanup: its staging folder (blocks of the file's contacts) stayed in /tmp."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    root = Path(tempfile.gettempdir())
    left = root / f"cctool-import-{dead.pid}-test"
    running = root / f"cctool-import-{os.getpid()}-test"  # an import still running: not touched
    for folder in (left, running):
        folder.mkdir(exist_ok=True)
        (folder / "block0.db").write_bytes(b"contacts")
    try:
        csv_path = tmp_path / "c.csv"
        csv_path.write_text("phone\n+12125550123\n")
        db = tmp_path / "c.db"
        done = subprocess.run(
            [sys.executable, "-m", "cctool", "--db", str(db), "contacts", "import", str(csv_path)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        assert not left.exists() and running.exists()
    finally:
        for folder in (left, running):
            shutil.rmtree(folder, ignore_errors=True)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"
