"""Benchmark: `cctool audit export` of 1M attempts against a raw SELECT streamed to csv.writer.

Budget (issue 7): <= 15 s and <= 200 MB peak RSS. Each measured job runs in its own child process,
which reports its wall time and its peak RSS (resource.getrusage), so the figures do not mix. The
export's re-check runs in a process of its own: its peak is added to the exporter's.

    python -m bench.export [--attempts N] [--keep DIR] [--strict] [--reuse] [--only JOBS]

`--reuse` keeps the generated database under the temporary folder, keyed by seed, size and the
generator's version, and reuses it on the next run (generating 1M attempts takes about half a minute).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

START = date(2026, 10, 1)
DAYS = 30
ZONES = [("+1212", "America/New_York"), ("+1312", "America/Chicago"), ("+1415", "America/Los_Angeles")]
BUDGET_S, BUDGET_MB = 15.0, 200.0
GENERATOR = 2  # bump when `generate` changes what it writes, so that --reuse does not keep a stale copy


def generate(db: Path, attempts: int, seed: int = 1) -> None:
    """A campaign with consented contacts and `attempts` attempts over 30 days, in one transaction,
    inserted in time order (ids follow time, as the dialer writes them)."""
    from cctool.store import open_store

    open_store(db, actor="bench", command="bench").close()
    rng = random.Random(seed)
    contacts = max(attempts // 10, 1)
    phones = [(f"{ZONES[i % 3][0]}{i:07d}", ZONES[i % 3][1]) for i in range(contacts)]
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO campaigns (name, kind, current_version, created_at, updated_at) "
        "VALUES ('bench', 'marketing', 1, '2026-09-01T00:00:00Z', '2026-09-01T00:00:00Z')"
    )
    conn.execute(
        "INSERT INTO campaign_versions (campaign, version, sha256, text, loaded_at, actor, kind, policy, seller, "
        "purpose, caller_id, hours_start, hours_end, days, cap_per_day, cap_24h, cap_total, min_gap_s, "
        "abandon_cap, abandon_window, definition, script, script_sha256) VALUES ('bench', 1, ?, 'x', "
        "'2026-09-01T00:00:00Z', 'bench', 'marketing', 'us', 'Acme', 'renewal', '+14155550100', '09:00', "
        "'20:00', 'mon,tue,wed,thu,fri,sat,sun', NULL, NULL, NULL, NULL, 0.03, '30d', '{}', 'm.j2', ?)",
        ("0" * 64, "1" * 64),
    )
    conn.executemany(
        "INSERT INTO consents (phone, purpose, action, source, given_at, recorded_at, actor) "
        "VALUES (?, 'marketing', 'grant', 'web', '2026-09-01T00:00:00Z', '2026-09-01T00:00:00Z', 'bench')",
        ((p,) for p, _ in phones),
    )
    conn.execute(
        "INSERT INTO dnc_registry_loads (list, version, registry_date, loaded_at, count, sha256, file_name, "
        "actor) VALUES ('national', '2026-09-28', '2026-09-28', '2026-09-28T06:00:00Z', ?, ?, 'n.csv', 'b')",
        (attempts // 20, "2" * 64),
    )
    # a registry copy of numbers the campaign never dials (the export still has to look them up)
    conn.executemany(
        "INSERT INTO dnc_national (phone) VALUES (?)", ((f"+1646{i:07d}",) for i in range(attempts // 20))
    )
    zones = {name: ZoneInfo(name) for _, name in ZONES}
    first_day = datetime(START.year, START.month, START.day)

    def drawn():
        for _ in range(attempts):
            phone, zone = phones[rng.randrange(contacts)]
            day = rng.randrange(DAYS)
            # between 10:00 and 16:00 in the called party's zone
            local = first_day + timedelta(days=day, hours=10, seconds=rng.randrange(6 * 3600))
            started = local.replace(tzinfo=zones[zone]).astimezone(UTC)
            draw = rng.random()
            outcome = (
                "abandoned"
                if draw < 0.004
                else "answered"
                if draw < 0.45
                else "no_answer"
                if draw < 0.8
                else "busy"
            )
            yield started, phone, zone, outcome

    # The dialer writes attempts as it makes them: ids follow time, so the export's walk of the time
    # index reads the table's pages in order. (Generator 1 inserted them in random time order, which
    # made that walk read pages at random: an unrealistic cost.)
    ordered = sorted(drawn(), key=lambda row: row[0])

    def rows():
        for n, (started, phone, zone, outcome) in enumerate(ordered, 1):
            stamp = started.strftime("%Y-%m-%dT%H:%M:%SZ")
            yield (
                n,
                phone,
                stamp,
                started.astimezone(zones[zone]).isoformat(),
                zone,
                zone,
                outcome,
                int(outcome == "abandoned"),
                12.0,
                60.0 if outcome == "answered" else 0.0,
            )

    conn.executemany(
        "INSERT INTO attempts (id, campaign, campaign_version, phone, started_at, local_time, zone, zone_source, "
        "zones, caller_id, registry_version, rules_checked, trunk, outcome, abandoned, safe_harbour, ring_s, "
        "talk_s, script, script_version) VALUES (?1, 'bench', 1, ?2, ?3, ?4, ?5, 'number', ?6, '+14155550100', "
        "'2026-09-28', 'hours;dnc;optout;consent;caps', 'mock', ?7, ?8, ?8, ?9, ?10, 'm.j2', '1111')",
        rows(),
    )
    conn.execute("COMMIT")
    conn.close()


def child(kind: str, db: str, out: str) -> None:
    """Runs inside the measured child process; prints its time and peak RSS as JSON."""
    began = time.perf_counter()
    if kind.startswith("export"):
        from cctool.cli import main

        formats = "csv" if kind == "export-csv" else "csv,json,html"
        code = main(["--db", db, "--quiet", "audit", "export", "--from", str(START), "--to",
                     str(START + timedelta(days=DAYS - 1)), "--out", out, "--format", formats])  # fmt: skip
        if code != 0:
            sys.exit(code)
    else:  # baseline: the same rows, straight to CSV, no masking, no re-check, no summary
        conn = sqlite3.connect(db)
        Path(out).mkdir()
        with (Path(out) / "attempts.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            cursor = conn.execute("SELECT * FROM attempts ORDER BY started_at, id")
            writer.writerow([d[0] for d in cursor.description])
            writer.writerows(cursor)
    elapsed = time.perf_counter() - began
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    own_mb = own.ru_maxrss / 1024
    # the export runs its re-check (and its JSON writer) in processes of their own: the largest child's
    # peak here; `measure` sums each child's peak, which it samples
    checker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # CPU seconds: steadier than wall time on a shared machine
    cpu = {"own_cpu": own.ru_utime + own.ru_stime, "checker_cpu": children.ru_utime + children.ru_stime}
    print(json.dumps({"seconds": elapsed, "rss_mb": own_mb + checker_mb, "own_mb": own_mb, **cpu}))


def _tree_memory(pid: int, peaks: dict[int, float]) -> float:
    """Resident memory of a process and all its descendants now (Linux /proc; 0 where unreadable); the
    peak of each descendant (VmHWM) is kept in `peaks` by process id."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0]) / 1024
            if current != pid:
                peaks[current] = max(
                    peaks.get(current, 0.0), int(status.split("VmHWM:")[1].split()[0]) / 1024
                )
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure(kind: str, db: Path, out: Path, source: Path | None = None) -> dict[str, float]:
    """Run one job in a child; besides its own figures, sample (every 20 ms) the memory that it and its
    own child processes (the export's checker) hold at once. `source`: run another tree's cctool."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source.resolve()), env.get("PYTHONPATH", "")])
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    with subprocess.Popen(
        [sys.executable, "-m", "bench.export", "--child", kind, str(db), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=source.resolve() if source is not None else None,
    ) as job:
        together = 0.0
        peaks: dict[int, float] = {}  # the export's own child processes (checker, JSON writer): their peaks
        while job.poll() is None:
            together = max(together, _tree_memory(job.pid, peaks))
            time.sleep(0.02)
        stdout, stderr = job.communicate()
    if job.returncode != 0:
        raise SystemExit(f"{kind} failed: {stderr.strip()[-500:]}")
    figures: dict[str, float] = json.loads(stdout.strip().splitlines()[-1])
    figures["together_mb"] = together
    # the sum of every process's peak: an upper bound of what they held at once (getrusage's figure for
    # children is the largest child's peak, not their sum, once there are two)
    figures["rss_mb"] = figures["own_mb"] + max(sum(peaks.values()), figures["rss_mb"] - figures["own_mb"])
    figures["children"] = len(peaks)
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures["cpu"] = now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep the database and exports in this folder")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the budget is not met")
    parser.add_argument("--reuse", action="store_true", help="keep and reuse the generated database")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--only", default="baseline,export,export-csv", help="the jobs to run: baseline,export,export-csv"
    )
    parser.add_argument(
        "--before", type=Path, help="also time the export of another source tree (e.g. a checkout of main)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the jobs N times in turn; report the fastest"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    if args.generate:
        generate(Path(args.generate[0]), int(args.generate[1]), int(args.generate[2]))
        return 0
    folder = args.keep or Path(tempfile.mkdtemp(prefix="cctool-bench-export-"))
    try:
        return _run(args, folder)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def _run(args: argparse.Namespace, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench.db"
    cached = Path(tempfile.gettempdir()) / f"cctool-bench-export-{args.attempts}-{args.seed}-g{GENERATOR}.db"
    if args.reuse and cached.exists():
        db = cached
        print(f"reusing {db}")
    else:
        began = time.perf_counter()
        # in a child of its own: Linux keeps a process's peak RSS across fork and exec, so the generator's
        # memory would otherwise show in every measured job's peak
        subprocess.run(
            [sys.executable, "-m", "bench.export", "--generate", str(cached if args.reuse else db),
             str(args.attempts), str(args.seed)],
            check=True,
        )  # fmt: skip
        db = cached if args.reuse else db
        print(f"generated {args.attempts:,} attempts in {time.perf_counter() - began:.1f} s ({db})")
    from cctool.store import open_store

    open_store(db, actor="bench", command="bench").close()  # any new migration runs here, not timed
    jobs = {
        "baseline": ("raw SELECT -> csv.writer", "baseline", None),
        "before": ("cctool audit export (--before)", "export", args.before),
        "export": ("cctool audit export", "export", None),
        "export-csv": ("  ... --format csv", "export-csv", None),
    }
    wanted = [name for name in args.only.split(",") if name in jobs]
    if args.before is not None and "before" not in wanted:
        wanted.insert(1 if "baseline" in wanted else 0, "before")
    # Repeats run the jobs in turn (a burst of load elsewhere then hits each job alike); each job's
    # fastest run is reported with the highest memory any of its runs took.
    results: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for name in wanted:
            _label, kind, source = jobs[name]
            shutil.rmtree(folder / name, ignore_errors=True)
            run = measure(kind, db, folder / name, source)
            best = results.get(name)
            if best is None:
                results[name] = run
                continue
            memory = {k: max(best[k], run[k]) for k in ("rss_mb", "own_mb", "together_mb")}
            if run["seconds"] < best["seconds"]:
                best = run
            results[name] = {**best, **memory}
    print(
        f"{'job':<34}{'seconds':>10}{'ratio':>8}{'CPU s (own + helpers)':>24}"
        f"{'peak RSS MB':>14}{'own + helpers':>16}{'at once':>10}"
    )
    base = results.get("baseline", {}).get("seconds")
    for name, job in results.items():
        ratio_text = f"{job['seconds'] / base:.2f}x" if base else "-"
        cpu = f"{job['cpu']:.1f}" + (
            f" ({job['own_cpu']:.1f} + {job['checker_cpu']:.1f})" if "own_cpu" in job else ""
        )
        print(
            f"{jobs[name][0]:<34}{job['seconds']:>10.2f}{ratio_text:>8}{cpu:>24}{job['rss_mb']:>14.0f}"
            f"{job['own_mb']:>8.0f} + {job['rss_mb'] - job['own_mb']:<5.0f}{job['together_mb']:>10.0f}"
        )
    runs = f"fastest of {args.repeat} runs in turn; " if args.repeat > 1 else ""
    print(f"{runs}ratio = seconds / the raw baseline's seconds in this run")
    print("peak RSS MB = the exporter's peak plus the peaks of its helper processes (the checker, the JSON")
    print("writer): an upper bound; at once = the most all held together, sampled every 20 ms.")
    if "export" not in results:
        return 0
    export = results["export"]
    summary = json.loads((folder / "export" / "summary.json").read_text())
    print(f"violations found: {len(summary['violations'])}")
    ok = export["seconds"] <= BUDGET_S and export["rss_mb"] <= BUDGET_MB
    print(f"budget <= {BUDGET_S:.0f} s and <= {BUDGET_MB:.0f} MB: {'met' if ok else 'NOT MET'}")
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
