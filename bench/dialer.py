"""Dialer speed: a predictive campaign, 50 agents, 8 simulated hours, attempts written to the database.

Printed beside a bare event loop of the same model (heapq, no engine, no database) measured in the same
run, and broken down: the engine's core loop alone (in-memory sink, no gate), then with the database
writes, then with the dial-time compliance decision on every dial (the real `dial run`). With the core
compiled (`make compile`), the real run once more in a child process with the core from its sources.

    python -m bench.dialer [--agents 50] [--hours 8] [--contacts 20000]
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.pacing import CountingSink, EndlessLeads
from cctool import native
from cctool.clock import VirtualClock
from cctool.dialengine import Engine
from cctool.dialer import DbRun, RunOptions, run_campaign
from cctool.dialgate import Gate
from cctool.mocktrunk import CallModel, MockTrunk
from cctool.pacer import Pacer
from cctool.store import open_store
from tests.dialer_support import START, add_contacts, load_campaign


def bare_shift(agents: int, hours: float, seed: int = 1, ratio: float = 2.5) -> int:
    """The model as a bare event loop: fixed-ratio dialing, heapq, nothing recorded. Returns attempts."""
    m, rng = CallModel(), random.Random(seed)
    end, t, free, ringing, attempts = hours * 3600, 0.0, agents, 0, 0
    heap: list[tuple[float, int, int]] = []  # (time, kind, seq): 0 ring end, 1 live answer, 2 agent free
    seq = 0
    waiting: list[float] = []
    mu, sigma = m.talk_mu, m.talk_sigma
    while t < end:
        want = int(ratio * free) - ringing
        for _ in range(max(want, 0)):
            attempts += 1
            ringing += 1
            u = rng.random()
            seq += 1
            if u < 0.25:
                heapq.heappush(heap, (t + rng.uniform(4, 16), 1, seq))
            elif u < 0.35:
                heapq.heappush(heap, (t + 3, 0, seq))
            elif u < 0.45:
                heapq.heappush(heap, (t + rng.uniform(4, 16) + 3, 0, seq))
            else:
                heapq.heappush(heap, (t + 20, 0, seq))
        if not heap:
            break
        t, kind, _ = heapq.heappop(heap)
        if kind == 0:
            ringing -= 1
        elif kind == 1:
            ringing -= 1
            if free:
                free -= 1
                seq += 1
                heapq.heappush(heap, (t + rng.lognormvariate(mu, sigma) + m.wrap_s, 2, seq))
            else:
                waiting.append(t)
        else:
            waiting = [w for w in waiting if t - w <= 2.0]
            if waiting:
                waiting.pop(0)
                seq += 1
                heapq.heappush(heap, (t + rng.lognormvariate(mu, sigma) + m.wrap_s, 2, seq))
            else:
                free += 1
    return attempts


def core_only(agents: int, hours: float) -> int:
    model = CallModel()
    engine = Engine(
        VirtualClock(START), MockTrunk(model, 1), model, agents=agents, source=EndlessLeads(),
        sink=CountingSink(), pacer=Pacer(agents), seed=1,
    )  # fmt: skip
    return engine.run(hours * 3600).dials


_load = Gate.load


def with_db(folder: Path, agents: int, hours: float, contacts: int, gate: bool) -> int:
    db = folder / f"bench-{'gate' if gate else 'nogate'}.db"
    store = open_store(db, actor="bench", command="bench")
    load_campaign(store, folder, total=6)
    add_contacts(store, contacts)
    if not gate:  # neither the decision nor the records it loads per claimed block
        DbRun.gate = lambda self, lead, now_s: None  # type: ignore[method-assign,assignment]
        Gate.load = lambda self, ids: None  # type: ignore[method-assign]
    try:
        t, cpu = time.perf_counter(), time.process_time()
        summary = run_campaign(
            store, RunOptions("survey", agents=agents, for_s=hours * 3600, start=START, seed=1)
        )
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    finally:
        if not gate:
            del DbRun.gate  # type: ignore[attr-defined]
            Gate.load = _load
    written = store.conn.execute("SELECT count(*) FROM attempts").fetchone()[0]
    assert written == summary["attempts"]
    store.close()
    return written, wall, cpu  # type: ignore[return-value]


def timed(fn, *args) -> tuple[int, float, float]:  # type: ignore[no-untyped-def]
    t, cpu = time.perf_counter(), time.process_time()
    n = fn(*args)
    return n, time.perf_counter() - t, time.process_time() - cpu


def from_source(agents: int, hours: float, contacts: int) -> tuple[int, float, float]:
    """The full `dial run` in a child process with the core run from its sources (`CCTOOL_PURE=1`)."""
    child = subprocess.run(
        [sys.executable, "-m", "bench.dialer", "--agents", str(agents), "--hours", str(hours),
         "--contacts", str(contacts), "--full-run-only"],
        env={**os.environ, "CCTOOL_PURE": "1"}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    n, wall, cpu = json.loads(child.stdout)
    return n, wall, cpu


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3, help="run each row this often, keep the fastest")
    parser.add_argument("--full-run-only", action="store_true", help=argparse.SUPPRESS)  # for from_source
    args = parser.parse_args(argv)
    if args.full_run_only:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(with_db(Path(tmp), args.agents, args.hours, args.contacts, gate=True)))
        return 0
    compiled = native.status() == "compiled"
    original_gate = DbRun.gate
    runs = []
    for _ in range(max(args.repeat, 1)):  # rows alternate, so a busy spell of the machine hits them alike
        rows = [
            ("bare event loop of the model (baseline)", *timed(bare_shift, args.agents, args.hours)),
            ("engine core + pacer, in-memory sink", *timed(core_only, args.agents, args.hours)),
        ]
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(
                ("+ database (batches, leases), no gate",
                 *with_db(Path(tmp), args.agents, args.hours, args.contacts, gate=False))
            )  # fmt: skip
            DbRun.gate = original_gate  # type: ignore[method-assign]
            rows.append(
                ("dial run: + compliance decision per dial",
                 *with_db(Path(tmp), args.agents, args.hours, args.contacts, gate=True))
            )  # fmt: skip
        if compiled:  # the same run, the core from source: what `make compile` buys, in the same session
            rows.append(("dial run, core from source (CCTOOL_PURE)",
                         *from_source(args.agents, args.hours, args.contacts)))  # fmt: skip
        runs.append(rows)
    rows = [
        (row[0], row[1], min(r[i][2] for r in runs), min(r[i][3] for r in runs))
        for i, row in enumerate(runs[0])
    ]
    base = rows[0][2]
    print(f"predictive, {args.agents} agents, {args.hours:g} simulated hours, fastest of {len(runs)}")
    print(f"dialer core: {native.status()}")
    print(f"{'what':<42} {'attempts':>9} {'wall s':>8} {'x baseline':>10} {'us/attempt':>10} {'CPU s':>7}")
    for name, n, wall, cpu in rows:
        per = wall / max(n, 1) * 1e6
        print(f"{name:<42} {n:>9} {wall:>8.3f} {wall / base:>10.1f} {per:>10.1f} {cpu:>7.3f}")
    # the shares of the shell: each row minus the one before, in CPU time (steadier on a shared machine)
    n = rows[3][1]
    for name, (a, b) in (("database side (row 3 - row 2)", (1, 2)), ("decision (row 4 - row 3)", (2, 3))):
        cpu = rows[b][3] - rows[a][3]
        print(f"{name:<42} {'':>9} {'':>8} {'':>10} {cpu / max(n, 1) * 1e6:>10.1f} {cpu:>7.3f}")
    print("CPU s: the run's own process; the database rows' writer process (cctool.dialwriter), on the other")
    print("core, is not counted (CCTOOL_DIAL_WRITER=0 writes from the run's process)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
