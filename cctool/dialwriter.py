"""A simulated dial run's writer process: the run's batches and claims, committed on the machine's other core.

Most of a `dial run`'s database time is SQLite's own work, which Python's lock would serialise with the
dialing if a thread did it. So a run on the virtual clock hands each batch (and each claim) to this
process, which commits it with a connection of its own while the run goes on dialing: at most one
transaction is in flight, and the run waits for its acknowledgement before the next one and before it
reads the database itself (`dialgate.Gate.attach_writer`). The transactions are the same ones the run
writes by itself otherwise (`write_batch`, `claim_block`, here), each with its audit row.

The process is a fresh interpreter (SQLite's locks do not survive a `fork` with a connection open) that
the kernel kills with its parent (`PR_SET_PDEATHSIG`): after a `kill -9` of the run, its open transaction
rolls back, and no orphan commits a batch under the claims of the next run. A transaction that fails is
rolled back and reported in one line; the run then fails with the database as the last acknowledged
transaction left it.

    python -m cctool.dialwriter DB ACTOR COMMAND    (pickled jobs on stdin, replies on stdout)
"""

from __future__ import annotations

import contextlib
import pickle
import select
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .children import die_with_parent
from .errors import UserError

if TYPE_CHECKING:
    from .store import Store

RUN_CHECKPOINT_PAGES = 10000  # WAL pages between checkpoints during a run (SQLite's default: 1000)
RUN_CACHE_SIZE = -65536  # page cache during a run: 64 MiB at most (SQLite's default: 2 MiB)

ATTEMPT_COLUMNS = (
    "run_id", "campaign", "campaign_version", "contact_id", "phone", "started_at", "ended_at", "local_time",
    "zone", "zone_source", "zones", "caller_id", "registry_version", "rules_checked", "trunk", "outcome",
    "disposition", "ring_s", "talk_s", "wrap_s", "agent", "connect_delay_s", "abandoned", "safe_harbour",
    "callback_id", "callback_requested", "sip_code", "call_id", "script", "script_version",
)  # fmt: skip
# The columns most attempts leave empty (no person reached) are bound as a stand-in of their type that no
# real value takes and turned back into NULL by `nullif`: Python's sqlite3 passes every None through its
# adapter registry (a tuple, a dict lookup and two attribute lookups, about 250 ns), seven a row.
_ABSENT = {"disposition": "''", "talk_s": "-1", "wrap_s": "-1", "agent": "''", "connect_delay_s": "-1",
           "callback_id": "0", "sip_code": "0", "call_id": "''"}  # fmt: skip
_INSERT_ATTEMPT = (
    f"INSERT INTO attempts ({', '.join(ATTEMPT_COLUMNS)}) VALUES "
    f"({', '.join(f'nullif(?, {_ABSENT[c]})' if c in _ABSENT else '?' for c in ATTEMPT_COLUMNS)})"
)


def tune_for_run(conn: sqlite3.Connection) -> tuple[int, int]:
    """Pragmas for the connection a run writes with; returns what they were (`finish` puts them back).

    Checkpoint the WAL less often while dialing: each checkpoint copies the pages every batch touches
    again (the attempt indexes, the contacts' states) and syncs the file. And a page cache that holds the
    run's working set (the contacts' states, the attempt indexes): with SQLite's 2 MiB, every batch reads
    back pages the one before pushed out."""
    before = (
        conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
        conn.execute("PRAGMA cache_size").fetchone()[0],
    )
    conn.execute(f"PRAGMA wal_autocheckpoint = {RUN_CHECKPOINT_PAGES}")
    conn.execute(f"PRAGMA cache_size = {RUN_CACHE_SIZE}")
    return before


@dataclass
class Batch:
    """What one `flush` writes, in one transaction (`write_batch`): by the run, or by its writer process."""

    run_id: int
    campaign: str
    attempts: list[tuple]
    blocked: list[tuple]
    contacts: list[tuple]
    optouts: list[tuple]
    outcomes: dict[str, int]
    renew: tuple[str, str, str] | None  # (lease until, campaign, owner): the run's leases extended


def write_batch(store: Store, conn: sqlite3.Connection, batch: Batch) -> int:
    """Write a batch inside the caller's transaction; returns the id of its first attempt (0: none)."""
    first_id = 0
    if batch.attempts:
        conn.executemany(_INSERT_ATTEMPT, batch.attempts)
        # one writer, one transaction: the batch's ids are consecutive up to the last one
        first_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0] - len(batch.attempts) + 1
    if batch.blocked:
        conn.executemany(
            "INSERT INTO blocked_dials (run_id, campaign, campaign_version, contact_id, phone, at, "
            "reasons, next_allowed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            batch.blocked,
        )
    if batch.contacts:
        conn.executemany(
            "UPDATE dial_contacts SET state = ?, attempts = ?, "
            "last_attempt_at = coalesce(?, last_attempt_at), next_at = ?, "
            "last_outcome = coalesce(?, last_outcome), last_disposition = coalesce(?, last_disposition) "
            "WHERE campaign = ? AND contact_id = ?",
            batch.contacts,
        )
    for phone, source, requested, effective, actor, contact_id in batch.optouts:
        cur = conn.execute(
            "INSERT INTO optouts (phone, channel, source, requested_at, effective_at, actor) "
            "VALUES (?, 'call', ?, ?, ?, ?)",
            (phone, source, requested, effective, actor),
        )
        store.audit(
            "optout",
            cur.lastrowid,
            "add",
            {"channel": "call", "campaign": batch.campaign, "run_id": batch.run_id,
             "contact_id": contact_id, "effective_at": effective, "via": "dnc_request disposition"},
        )  # fmt: skip
    if batch.renew is not None:  # renewing touches every held row: not every batch
        conn.execute(
            "UPDATE dial_contacts SET lease_until = ? WHERE campaign = ? AND lease_owner = ?", batch.renew
        )
    if batch.attempts or batch.blocked:
        store.audit(
            "dial_run",
            batch.run_id,
            "batch",
            {"attempts": len(batch.attempts), "blocked": len(batch.blocked),
             "outcomes": dict(sorted(batch.outcomes.items()))},
        )  # fmt: skip
    return first_id


def claim_block(store: Store, conn: sqlite3.Connection, run_id: int, params: dict[str, Any]) -> list[tuple]:
    """Lease the next block of due contacts to the run, inside the caller's transaction: (id, attempts)."""
    rows = conn.execute(
        "UPDATE dial_contacts SET lease_owner = :owner, lease_until = :until "
        "WHERE campaign = :c AND contact_id IN (SELECT contact_id FROM dial_contacts WHERE campaign = :c "
        "AND state = 'pending' AND (next_at IS NULL OR next_at <= :now) "
        "AND (lease_owner IS NULL OR lease_until < :wall) "
        "ORDER BY next_at, contact_id LIMIT :n) RETURNING contact_id, attempts",  # NULLs first: the index order
        params,
    ).fetchall()
    if rows:
        store.audit("dial_run", run_id, "claim", {"claimed": len(rows)})
    return rows


WRITER_JOBS = frozenset({"write_batch", "claim_block"})  # what `dialwriter` may be asked to run


class WriterFailed(UserError):
    """The writer process stopped or refused a transaction."""


class Writer:
    """The run's side: `submit` a job and go on, `call` one and wait for its result, `acked(wait)`."""

    def __init__(self, db: Path, actor: str, command: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cctool.dialwriter", str(db), actor, command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._to: IO[bytes] = self.proc.stdin
        self._from: IO[bytes] = self.proc.stdout
        self._in_flight = False
        self._ready = False
        self.failed = False
        self.commits = 0  # transactions committed and acknowledged

    def ready(self, timeout: float = 0.0) -> bool:
        """The process has started and opened the database (it says so once); waits up to `timeout` s."""
        if not self._ready and select.select([self._from], [], [], timeout)[0]:
            self._reply(counts=False)
            self._ready = True
        return self._ready

    def acked(self, wait: bool = False) -> int:
        """Transactions committed and acknowledged; `wait`: after the one in flight, if any."""
        if wait and self._in_flight:
            self._reply()
        return self.commits

    def submit(self, job: str, *args: Any) -> None:
        """Send a job (a function of `dialer` run in one transaction) after the last one's reply."""
        self.acked(True)
        try:
            pickle.dump((job, args), self._to, protocol=pickle.HIGHEST_PROTOCOL)
            self._to.flush()
        except (BrokenPipeError, OSError):
            raise self._failed("") from None
        self._in_flight = True

    def call(self, job: str, *args: Any) -> Any:
        """`submit`, then wait for the job's result."""
        self.submit(job, *args)
        return self._reply()

    def close(self) -> None:
        """Wait for the last transaction, then let the process end."""
        try:
            self.acked(True)
        finally:
            self.kill(graceful=True)

    def kill(self, graceful: bool = False) -> None:
        """End the process: at the end of its input when `graceful` (it returns), else at once."""
        if self.proc.poll() is None:
            ended = False
            if graceful:
                with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                    self._to.close()  # end of input: the process returns
                    self.proc.wait(timeout=30)
                    ended = True
            if not ended:
                self.proc.kill()
                self.proc.wait()
        for pipe in (self._to, self._from):
            with contextlib.suppress(OSError):
                pipe.close()

    def _reply(self, counts: bool = True) -> Any:
        self._in_flight = False
        try:
            status, value = pickle.load(self._from)
        except (EOFError, pickle.UnpicklingError, OSError):
            raise self._failed("") from None
        if status != "ok":
            raise self._failed(str(value))
        if counts:  # the "ready" message is not a commit
            self.commits += 1
        return value

    def _failed(self, why: str) -> WriterFailed:
        self.failed = True
        self.kill()
        return WriterFailed(
            f"the dial run's writer process {'failed: ' + why if why else 'stopped'}; the attempts up to its "
            "last batch are written: `cctool dial run` again goes on from there"
        )


def main(argv: list[str]) -> int:
    die_with_parent()
    # Ctrl-C (the whole process group) and SIGTERM are the run's to handle: it writes what it has through
    # this process, then closes its input
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from .store import Store, connect

    db, actor, command = argv
    store = Store(Path(db), connect(Path(db)), actor, command)  # the run migrated it
    tune_for_run(store.conn)
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    pickle.dump(("ok", "ready"), sink)
    sink.flush()
    while True:
        try:
            job, args = pickle.load(source)
        except EOFError:
            return 0
        try:
            if job not in WRITER_JOBS:
                raise ValueError(f"unknown job {job!r}")
            with store.write() as conn:
                result = globals()[job](store, conn, *args)
        except Exception as exc:  # rolled back by store.write(): reported, and the process ends
            pickle.dump(("error", f"{type(exc).__name__}: {exc}"), sink)
            sink.flush()
            return 1
        pickle.dump(("ok", result), sink, protocol=pickle.HIGHEST_PROTOCOL)
        sink.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
