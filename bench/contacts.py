"""Benchmark: `contacts import` of a seeded 1M-row CSV, beside raw sqlite3.executemany of the same rows.

    python -m bench.contacts            # BENCH_ROWS=200000 to scale down on a busy machine

The file mixes what CRM exports hold: mostly E.164 numbers (US, UK, China, a few elsewhere), national
formats read with --region US, invalid numbers, repeats, tags, a consent column and an attribute.
The baseline inserts the same rows, already built, into the same table in one transaction: it is
the floor no importer can beat on this machine, measured in the same run.
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
SEED = int(os.environ.get("BENCH_SEED", "7"))
TARGET = 100_000

FIRST = ["James", "Mary", "Oliver", "Amelia", "Wei", "Fang", "Li", "Jun", "Sofia", "Noah", "Emma", "Liam"]
LAST = ["Smith", "Jones", "Brown", "Taylor", "Wang", "Zhang", "Liu", "Chen", "Garcia", "Miller"]
CITIES = ["New York", "Leeds", "Shanghai", "Denver", "Manchester", "Chengdu", "Austin", ""]
TAGS = ["renewal-due", "vip", "broadband", "mobile", "lapsed", "web-lead", ""]


def _valid_numbers(rng: random.Random, count: int) -> list[str]:
    """Random numbers that phonenumbers accepts, drawn per country with realistic shares."""
    from cctool.phonefast import Classifier

    classify = Classifier()
    makers = [
        (0.40, lambda: f"+1{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"),
        (0.20, lambda: f"+447{rng.randint(100000000, 999999999)}"),
        (0.05, lambda: f"+44{rng.choice([20, 113, 161, 121])}{rng.randint(1000000, 9999999)}"),
        (0.28, lambda: f"+861{rng.choice([3, 5, 8, 9])}{rng.randint(0, 999999999):09d}"),
        (0.07, lambda: f"+{rng.choice([49, 33, 61, 91, 81])}{rng.randint(10**8, 10**10)}"),
    ]
    weights = [w for w, _ in makers]
    found: list[str] = []
    while len(found) < count:
        make = rng.choices(makers, weights)[0][1]
        number = make()
        if not isinstance(classify(number), str):
            found.append(number)
    return found


def _national(e164: str) -> str:
    digits = e164[2:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def generate(path: Path, rows: int, seed: int) -> list[tuple[str, str, str, str, str, str]]:
    """Write the CSV and return its rows (for the baseline)."""
    rng = random.Random(seed)
    numbers = _valid_numbers(rng, rows)
    out = []
    for i in range(rows):
        roll = rng.random()
        phone = numbers[i]
        if roll < 0.03 and i:
            phone = numbers[rng.randrange(i)]  # a repeat
        elif roll < 0.07:
            phone = f"+1{rng.randint(100, 199)}5550{rng.randint(100, 999)}"  # invalid area code
        elif roll < 0.15 and phone.startswith("+1"):
            phone = _national(phone)  # national format, needs --region US
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        email = f"user{i}@example.com" if roll > 0.5 else ""
        tags = "|".join(t for t in {rng.choice(TAGS), rng.choice(TAGS)} if t)
        consent = rng.choice(["yes", "no", "", ""])
        out.append((phone, name, email, tags, consent, rng.choice(CITIES)))
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "name", "email", "tags", "marketing consent", "city"])
        writer.writerows(out)
    return out


def baseline(db: Path, rows: list[tuple[str, ...]]) -> tuple[float, float]:
    """Raw executemany of the same rows (no parsing, no validation) into the same table:
    rows/s and CPU microseconds per row."""
    from cctool.store import open_store

    store = open_store(db, actor="bench", command="bench")
    conn = store.conn
    unique = list({r[0]: r for r in rows}.values())
    start, cpu0 = time.perf_counter(), time.process_time()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO contacts (phone, name, email, attributes, created_at, updated_at) "
        "VALUES (?, ?, ?, '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        [(r[0], r[1], r[2] or None) for r in unique],
    )
    conn.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    store.close()
    return len(rows) / elapsed, cpu / len(rows) * 1e6


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def cctool_import(db: Path, csv_path: Path) -> tuple[float, dict[str, int], float, float]:
    """rows/s, counts, and CPU microseconds per row in this process and in the parsing workers."""
    from cctool.contacts_import import import_contacts
    from cctool.store import open_store

    store = open_store(db, actor="bench", command="bench")
    main0, kids0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = import_contacts(store, csv_path, region="US", rejects=db.with_name("rejects.csv"))
    elapsed = time.perf_counter() - start
    rows = result.counts["read"]
    main_us = (_cpu(resource.RUSAGE_SELF) - main0) / rows * 1e6
    kids_us = (_cpu(resource.RUSAGE_CHILDREN) - kids0) / rows * 1e6
    store.close()
    return rows / elapsed, result.counts, main_us, kids_us


def import_in_child(db: Path, csv_path: Path) -> dict:
    """Run the import in a fresh process, so its peak memory is its own and not the generator's."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.contacts", "--import", str(db), str(csv_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def _own_peak_mb() -> float:
    """This process's peak RSS. ru_maxrss survives exec on Linux, so it would report the bench parent's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(db: Path, csv_path: Path) -> int:
    rate, counts, main_us, kids_us = cctool_import(db, csv_path)
    peak = _own_peak_mb()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "rate": rate,
                "counts": counts,
                "main_us": main_us,
                "kids_us": kids_us,
                "peak_mb": peak,
                "worker_mb": workers,
            }
        )
    )
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--import"]:
        return child(Path(sys.argv[2]), Path(sys.argv[3]))
    folder = Path(tempfile.mkdtemp(prefix="cctool-bench-contacts-"))
    csv_path = folder / "contacts.csv"
    t0 = time.perf_counter()
    rows = generate(csv_path, ROWS, SEED)
    print(
        f"generated {ROWS:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f}s"
    )
    base, base_us = baseline(folder / "baseline.db", rows)
    del rows
    found = import_in_child(folder / "import.db", csv_path)
    rate, counts, main_us, kids_us = found["rate"], found["counts"], found["main_us"], found["kids_us"]
    peak_mb, child_mb = found["peak_mb"], found["worker_mb"]
    print(f"{'what':<44}{'rows/s':>12}")
    print(f"{'raw sqlite3.executemany, same rows':<44}{base:>12,.0f}")
    print(f"{'cctool contacts import (full validation)':<44}{rate:>12,.0f}")
    print(
        f"import / raw executemany: {rate / base:.2f}; target {TARGET:,} rows/s: {'met' if rate >= TARGET else 'NOT met'}"
    )
    print(
        f"CPU per row: {main_us:.1f} us writing (main process) + {kids_us:.1f} us parsing and staging (workers) "
        f"= {main_us + kids_us:.1f} us; raw executemany {base_us:.1f} us; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"peak RSS of the import: main {peak_mb:.0f} MB, largest worker {child_mb:.0f} MB")
    print(f"counts: {counts}")
    for leftover in folder.iterdir():
        leftover.unlink()
    folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
