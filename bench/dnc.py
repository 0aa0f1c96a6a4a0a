"""Loading a national do-not-call registry copy: `cctool dnc import` beside raw sqlite3 in the same run.

    python -m bench.dnc            # 10M numbers
    BENCH_DNC=1000000 python -m bench.dnc

The file is generated from a fixed seed: US numbers on valid area code + exchange pairs, in random order,
60% bare national digits (as the FTC ships them), 39% E.164, 0.9% formatted "(212) 555-0123", and
0.1% junk lines. The baseline inserts the same normalised numbers with `executemany` into the same
WITHOUT ROWID table, once unsorted and once pre-sorted (the sort timed apart), with no parsing at all.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import phonenumbers

from cctool import registry_file

SEED = 20261201


def exchanges(rnd: random.Random, count: int) -> list[str]:
    """Area code + exchange pairs that phonenumbers calls valid for the US."""
    found: list[str] = []
    while len(found) < count:
        prefix = f"{rnd.randrange(200, 1000)}{rnd.randrange(200, 1000)}"
        if phonenumbers.is_valid_number(phonenumbers.parse(f"+1{prefix}0000")):
            found.append(prefix)
    return found


def generate(path: Path, count: int) -> None:
    rnd = random.Random(SEED)
    pool = exchanges(rnd, 5000)
    with path.open("w", encoding="ascii") as out:
        batch: list[str] = []
        for _ in range(count):
            number = rnd.choice(pool) + f"{rnd.randrange(10000):04d}"
            roll = rnd.random()
            if roll < 0.60:
                line = number
            elif roll < 0.99:
                line = "+1" + number
            elif roll < 0.999:
                line = f"({number[:3]}) {number[3:6]}-{number[6:]}"
            else:
                line = "n/a"
            batch.append(line)
            if len(batch) >= 100_000:
                out.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            out.write("\n".join(batch) + "\n")


def fresh_db(path: Path) -> sqlite3.Connection:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE dnc_national (phone TEXT PRIMARY KEY) WITHOUT ROWID")
    return conn


def raw_insert(path: Path, numbers: list[str]) -> float:
    conn = fresh_db(path)
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT OR IGNORE INTO dnc_national VALUES (?)", ((n,) for n in numbers))
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> int:
    count = int(os.environ.get("BENCH_DNC", "10000000"))
    with tempfile.TemporaryDirectory(prefix="bench-dnc-") as tmp:
        folder = Path(tmp)
        source = folder / "national.txt"
        generate(source, count)
        db = folder / "cc.db"
        env = {**os.environ, "CCTOOL_ACTOR": "bench"}
        start = time.perf_counter()
        cmd = [sys.executable, "-m", "cctool", "--db", str(db), "--json", "dnc", "import", str(source)]
        cmd += ["--list", "national", "--version", "bench", "--region", "US"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        cli_s = time.perf_counter() - start
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1

        text = source.read_text(encoding="ascii")
        start = time.perf_counter()
        parsed = registry_file.parse(text, "US")
        parse_s = time.perf_counter() - start
        numbers = parsed.numbers
        unsorted_s = raw_insert(folder / "raw.db", numbers)
        start = time.perf_counter()
        ordered = sorted(numbers)
        sort_s = time.perf_counter() - start
        sorted_s = raw_insert(folder / "raw.db", ordered)

    rows = [
        ("cctool dnc import (whole command, subprocess)", cli_s),
        ("  of which parsing + normalising (in process)", parse_s),
        ("raw executemany, unsorted rows", unsorted_s),
        ("raw executemany, pre-sorted rows", sorted_s),
        ("  + Python sort of the rows", sorted_s + sort_s),
    ]
    print(f"{count:,} lines ({parsed.fast:,} on the fast path, {parsed.invalid:,} invalid), seed {SEED}")
    print(f"{'what':<50} {'seconds':>8} {'numbers/s':>12}")
    for label, seconds in rows:
        print(f"{label:<50} {seconds:>8.2f} {count / seconds:>12,.0f}")
    verdict = "meets" if count / cli_s >= 500_000 else "MISSES"
    print(f"dnc import {verdict} the 500k numbers/s target ({count / cli_s:,.0f}/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
