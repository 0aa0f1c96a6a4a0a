"""A simulated run's writer process (`cctool.dialwriter`): the same records as a run writing by itself, the
gate still sees other processes' writes at once, and a writer that dies fails the run cleanly."""

from __future__ import annotations

import hashlib
import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from cctool.dialer import DbRun, RunOptions, run_campaign
from cctool.dialwriter import Writer, WriterFailed
from cctool.store import open_store
from cctool.timeutil import to_iso
from tests.dialer_support import START, add_contacts, load_campaign
from tests.test_dialer_run import consistent, not_dialed_after


@pytest.fixture
def writer_at_once(monkeypatch: pytest.MonkeyPatch) -> list[DbRun]:
    """The writer is used from the run's first write (it is otherwise once started, about 0.1 s in, which a
    small run may not last); the runs that used one are listed."""
    ready, use, used = Writer.ready, DbRun._use_writer, []

    def waiting(self: Writer, timeout: float = 0.0) -> bool:
        return ready(self, 30.0)

    def noting(self: DbRun) -> None:
        use(self)
        if self._writer is not None and self not in used:
            used.append(self)

    monkeypatch.setattr(Writer, "ready", waiting)
    monkeypatch.setattr(DbRun, "_use_writer", noting)
    return used


def digest(db: Path) -> str:
    """Every record a run writes, the run's own id and wall-clock times left out."""
    store = open_store(db, actor="t", command="t")
    h = hashlib.sha256()
    for sql in (
        "SELECT * FROM attempts ORDER BY id",
        "SELECT * FROM blocked_dials ORDER BY id",
        "SELECT campaign, contact_id, state, attempts, last_attempt_at, next_at, last_outcome, last_disposition,"
        " lease_owner IS NULL FROM dial_contacts ORDER BY campaign, contact_id",
        "SELECT phone, channel, source, requested_at, effective_at FROM optouts ORDER BY id",
        "SELECT entity, action, payload FROM audit_log WHERE entity IN ('dial_run', 'optout') AND action != 'claim'"
        " ORDER BY seq",
    ):
        for row in store.conn.execute(sql):
            h.update(repr(tuple(row)).encode())
    store.close()
    return h.hexdigest()


def test_a_run_with_its_writer_process_writes_exactly_what_it_writes_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer_at_once: list[DbRun]
) -> None:
    digests = []
    for writer in ("1", "0"):
        monkeypatch.setenv("CCTOOL_DIAL_WRITER", writer)
        db = tmp_path / f"writer{writer}.db"
        store = open_store(db, actor="t", command="t")
        load_campaign(store, tmp_path, total=6)
        add_contacts(store, 3000)
        summary = run_campaign(store, RunOptions("survey", agents=20, for_s=3 * 3600, start=START, seed=4))
        assert summary["attempts"] > 1500 and summary["optouts"] > 0
        consistent(store, "survey")
        store.close()
        digests.append(digest(db))
        assert len(writer_at_once) == 1  # the first run used one; the second (CCTOOL_DIAL_WRITER=0) not
    assert digests[0] == digests[1]


def test_another_process_opting_a_number_out_mid_run_is_refused_at_its_next_dial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer_at_once: list[DbRun]
) -> None:
    """The writer's commits do not hide anyone else's: an opt-out committed by another connection (as
    `cctool optout add` would, from another process) between two of the writer's batches stops the dials."""
    db = tmp_path / "cc.db"
    store = open_store(db, actor="t", command="t")
    load_campaign(store, tmp_path)
    ids = add_contacts(store, 40)
    target = store.conn.execute("SELECT phone FROM contacts WHERE id = ?", (ids[0],)).fetchone()[0]
    cut = START + timedelta(minutes=30)
    original, done, reloads = DbRun.on_tick, [], []

    def tick(self: DbRun, now_s: float) -> None:
        if not done and self.at(now_s) >= cut:
            assert self._writer is not None and self._writer.commits > 0
            other = open_store(db, actor="tester", command="optout")
            with other.write() as conn:
                conn.execute(
                    "INSERT INTO optouts (phone, channel, source, requested_at, effective_at, actor) "
                    "VALUES (?, 'phone', 'cli', ?, ?, 'tester')",
                    (target, to_iso(self.at(now_s)), to_iso(self.at(now_s))),
                )
                other.audit("optout", None, "add", {})
            other.close()
            done.append(self.at(now_s))
            reloads.append(self.dial_gate.reloads)
        original(self, now_s)

    monkeypatch.setattr(DbRun, "on_tick", tick)
    run_campaign(store, RunOptions("survey", agents=2, for_s=4 * 3600, start=START, seed=2))
    assert done and writer_at_once
    assert writer_at_once[0].dial_gate.reloads > reloads[0]  # the gate read the records again
    not_dialed_after(store, target, done[0])
    consistent(store, "survey")


def test_a_writer_that_dies_fails_the_run_in_one_line_and_leaves_the_database_consistent(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer_at_once: list[DbRun]
) -> None:
    store = open_store(db_path, actor="t", command="t")
    load_campaign(store, tmp_path, total=6)
    add_contacts(store, 2000)
    original, killed = DbRun.on_tick, []

    def tick(self: DbRun, now_s: float) -> None:
        if not killed and self._writer is not None and self._writer.commits >= 1:
            os.kill(self._writer.proc.pid, signal.SIGKILL)
            killed.append(now_s)
        original(self, now_s)

    monkeypatch.setattr(DbRun, "on_tick", tick)
    with pytest.raises(WriterFailed) as failed:
        run_campaign(store, RunOptions("survey", agents=20, for_s=4 * 3600, start=START, seed=1))
    assert killed and "\n" not in str(failed.value) and "dial run" in str(failed.value)
    consistent(store, "survey")  # every contact's state matches the attempts written
    status = store.conn.execute("SELECT status FROM dial_runs").fetchall()
    assert status == [("failed",)]
    held = store.conn.execute("SELECT count(*) FROM dial_contacts WHERE lease_owner IS NOT NULL").fetchone()[
        0
    ]
    assert held == 0
    store.close()
