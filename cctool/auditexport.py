"""`cctool audit export`: the folder an auditor receives (see ../shared/COMPLIANCE.md).

Rows are streamed from the database to the files (never all in memory), inside one read transaction so
every file shows the same moment. Numbers and names are masked unless `unmask` is asked for, which is
itself written to the audit log. Each number also gets a `phone_ref`, a keyed hash that links rows about
one number within this export only. The independent re-check (`recheck.py`) then reads the CSV files
back and its violations go into summary.json and report.html; manifest.json hashes every file. On two
cores or more, attempts.jsonl is written by a second process at the same moment of the database
(`auditjson`, `Exporter.share_snapshot`).
This module holds the frame and the base sections (consents, opt-outs, DNC list, erasures, operations);
the dialing sections are in `auditsections.py`, the service ones in `auditservice.py`, the summary
figures and chart series in `auditsummary.py`. The user's guide is docs/audit.md.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import secrets
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

from . import __version__, audit, auditjson, manifest, recheck
from .auditjson import AUDIT_HEAD_SQL
from .children import signals_handled
from .errors import UsageError, UserError
from .masking import PhoneRef, mask_name, mask_numbers_in_payload, mask_numbers_in_text, mask_phone
from .store import Store, busy_timeout_s
from .timeutil import to_iso, utcnow

FORMATS = {"csv", "json", "html"}
# attempts.jsonl is written by a second process (`auditjson`) beside attempts.csv; False: by this one
JSON_PROCESS = True
JSON_WRITER_START_S = 30.0  # its start (Python and a few modules)
JSON_WRITER_READY_S = 5.0  # its read transaction's start, while the write lock is held
_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False)


@dataclass
class ExportRequest:
    start: date
    end: date  # inclusive
    out: Path
    campaign: str | None = None
    formats: set[str] = field(default_factory=lambda: {"csv", "json", "html"})
    unmask: bool = False

    @property
    def since(self) -> str:
        return to_iso(datetime.combine(self.start, time(0), UTC))

    @property
    def until(self) -> str:
        return to_iso(datetime.combine(self.end + timedelta(days=1), time(0), UTC))


class Sink:
    """Writes one table as CSV (always: the checker and manifest rest on it) and optionally JSON Lines."""

    def __init__(
        self, folder: Path, name: str, columns: list[str], jsonl: bool, hashed: dict[str, tuple[str, int]]
    ):
        self.columns = columns
        self.count = 0
        self._hashed = hashed  # file name -> (SHA-256, size), filled on close for the manifest
        self._csv_handle, self._csv_raw = manifest.text_file(folder / f"{name}.csv", newline="")
        self._csv = csv.writer(self._csv_handle)
        self._csv.writerow(columns)
        self._json_handle: io.TextIOWrapper | None = None
        self._json_raw: manifest.HashingFile | None = None
        if jsonl:
            self._json_handle, self._json_raw = manifest.text_file(folder / f"{name}.jsonl", newline=None)

    def write(self, values: Sequence[Any]) -> None:
        self.write_all([values])

    def write_all(self, rows: Iterable[Sequence[Any]]) -> None:
        """Stream rows out: the CSV writer gets them in its own loop when no JSON is asked for."""
        if self._json_handle is None:
            self._csv.writerows(self._counted(rows))  # None is written as an empty field
            return
        writerow, put, encode, columns = (
            self._csv.writerow,
            self._json_handle.write,
            _JSON.encode,
            self.columns,
        )
        written = 0
        for row in rows:
            writerow(row)
            put(encode(dict(zip(columns, row))) + "\n")
            written += 1
        self.count += written

    def write_lines(
        self, make: Callable[[Callable[[str], object], Callable[[str], object] | None], None]
    ) -> None:
        """`make` writes the rows itself, as whole CSV lines and JSON lines (given None when no JSON is
        asked for)."""
        make(self._csv_handle.write, self._json_handle.write if self._json_handle is not None else None)

    def _counted(self, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        for row in rows:
            self.count += 1
            yield row

    def close(self) -> None:
        self._csv_handle.close()
        self._hashed[self._csv_raw.path.name] = (self._csv_raw.hexdigest(), self._csv_raw.size)
        if self._json_handle is not None and self._json_raw is not None:
            self._json_handle.close()
            self._hashed[self._json_raw.path.name] = (self._json_raw.hexdigest(), self._json_raw.size)


class Exporter:
    """Holds the masking choices for one export and writes its tables."""

    def __init__(self, store: Store, request: ExportRequest):
        self.store, self.request = store, request
        self.key = secrets.token_bytes(32)  # the phone references' key: never written, passed on a pipe
        self.ref = PhoneRef(self.key)
        self.counts: dict[str, int] = {}
        self.hashed: dict[str, tuple[str, int]] = {}  # SHA-256 and size of each file hashed as written
        # What a section learnt while streaming its rows, for later sections and the summarisers.
        self.facts: dict[str, Any] = {}
        self.checker: subprocess.Popen[bytes] | None = None
        # the process writing attempts.jsonl beside this one (`auditjson`), once it shares the snapshot
        self.json_writer: subprocess.Popen[bytes] | None = None

    def start_checker(self) -> None:
        """Start the independent re-check in a second process (the machine's other core), early, while
        this one is small. Once told (`checker_go`), it reads the files already written, then follows
        attempts.csv while this process writes it."""
        try:
            self.checker = subprocess.Popen(
                [sys.executable, "-m", "cctool.recheck", "--follow", str(self.request.out)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError:
            self.checker = None  # the checker then runs here, after the export

    def start_json_writer(self) -> None:
        """Start the process that will write attempts.jsonl (`auditjson`), early, like the checker."""
        if (
            "json" not in self.request.formats
            or not JSON_PROCESS
            or _usable_cores() < 2  # on one core a third process only adds its own work
            or str(self.store.path) == ":memory:"
        ):
            return
        try:
            self.json_writer = subprocess.Popen(
                [sys.executable, "-m", "cctool.auditjson"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError:
            self.json_writer = None  # this process writes attempts.jsonl itself

    def share_snapshot(self) -> None:
        """Start this export's read transaction (`BEGIN` issued: its first read) and the JSON writer's at
        the same moment of the database; without a JSON writer (or should it fail), just the first read."""
        if self.json_writer is not None and not self._snapshot_with_json_writer():
            self._stop_json_writer()  # this process writes attempts.jsonl itself
        self.store.conn.execute(AUDIT_HEAD_SQL).fetchone()  # (again: the same) read transaction

    def _snapshot_with_json_writer(self) -> bool:
        """A second connection holds the write lock until both read transactions have started, so no
        change commits between them; both read the audit head, which must agree."""
        writer = self.json_writer
        assert writer is not None and writer.stdin is not None and writer.stdout is not None
        try:
            # its imports done first: the lock is then held for milliseconds
            if _line_from(writer.stdout, JSON_WRITER_START_S) != b"loaded\n":
                return False
            lock = sqlite3.connect(str(self.store.path), isolation_level=None, timeout=busy_timeout_s())
            try:
                lock.execute("BEGIN IMMEDIATE")
                seq = self.store.conn.execute(AUDIT_HEAD_SQL).fetchone()[0]
                request = {
                    "db": str(self.store.path),
                    "path": str(self.request.out / "attempts.jsonl"),
                    "since": self.request.since,
                    "until": self.request.until,
                    "campaign": self.request.campaign,
                    "unmask": self.request.unmask,
                    "key": self.key.hex(),
                }
                writer.stdin.write(json.dumps(request).encode() + b"\n")
                writer.stdin.flush()
                # never wait long with every writer (the dialer) held off
                return _line_from(writer.stdout, JSON_WRITER_READY_S) == f"ready {seq}\n".encode()
            finally:
                lock.close()  # rolls back: the lock is released
        except (OSError, sqlite3.Error):
            return False

    def json_elsewhere(self) -> bool:
        """attempts.jsonl is being written by the JSON writer process."""
        return self.json_writer is not None

    def json_written(self, rows: int) -> None:
        """Wait for the JSON writer; note its file's hash. Should it have failed or written another number
        of rows than attempts.csv holds, write the file here (still in this export's snapshot)."""
        writer, self.json_writer = self.json_writer, None
        result: dict[str, Any] | None = None
        if writer is not None:
            out, err = writer.communicate()
            try:
                result = json.loads(out.splitlines()[-1]) if writer.returncode == 0 and out else None
            except ValueError:
                result = None
        path = self.request.out / "attempts.jsonl"
        if result is None or result.get("rows") != rows:
            digest, size, _rows = auditjson.write(
                self.store.conn,
                path,
                self.request.since,
                self.request.until,
                self.request.campaign,
                self.phone,
                self.ref,
            )
            result = {"sha256": digest, "bytes": size}
        self.hashed[path.name] = (result["sha256"], result["bytes"])

    def _stop_json_writer(self) -> None:
        if self.json_writer is not None:
            self.json_writer.kill()
            self.json_writer.communicate()
            self.json_writer = None

    def checker_go(self) -> None:
        """The checker's other files are complete and attempts.csv exists: it may start reading."""
        self._tell_checker(b"go\n")

    def attempts_written(self) -> None:
        self._tell_checker(b"done\n")

    def _tell_checker(self, line: bytes) -> None:
        if self.checker is not None:
            try:
                assert self.checker.stdin is not None
                self.checker.stdin.write(line)
                self.checker.stdin.flush()
            except OSError:
                pass  # it has stopped: `violations` runs the check here

    def violations(self) -> list[dict[str, Any]]:
        """The re-check's result: from the second process, or (if it could not run) computed here."""
        if self.checker is not None:
            out, _err = self.checker.communicate()
            self.checker = None
            if _err == b"" and out:
                try:
                    found: list[dict[str, Any]] = json.loads(out)
                    return found
                except ValueError:
                    pass
        return recheck.recheck(self.request.out)

    def close_checker(self) -> None:
        """Stop the helper processes (the export failed)."""
        if self.checker is not None:
            self.checker.kill()
            self.checker.communicate()
            self.checker = None
        self._stop_json_writer()

    def phone(self, e164: str | None) -> str:
        return (e164 or "") if self.request.unmask else mask_phone(e164)

    def name(self, name: str | None) -> str:
        return (name or "") if self.request.unmask else mask_name(name)

    def text(self, value: str | None) -> str:
        """Free text (notes, subjects, reasons) with every number in it masked, however it is written."""
        if value is None or self.request.unmask:
            return value or ""
        return mask_numbers_in_text(value)

    def payload(self, value: str | None) -> str:
        """An audit row's JSON payload with the numbers in its texts masked (not its counts and ids)."""
        if value is None or self.request.unmask:
            return value or ""
        return mask_numbers_in_payload(value)

    def table(self, name: str, columns: list[str], rows: Iterable[Sequence[Any]]) -> int:
        sink = Sink(self.request.out, name, columns, "json" in self.request.formats, self.hashed)
        try:
            sink.write_all(rows)
        finally:
            sink.close()
        self.counts[name] = sink.count
        return sink.count

    def table_lines(
        self,
        name: str,
        columns: list[str],
        make: Callable[[Callable[[str], object], Callable[[str], object] | None], None],
        count: Callable[[], int],
        jsonl: bool = True,
    ) -> int:
        """Like `table`, for the big table whose rows come as lines written by SQLite (`Sink.write_lines`);
        `count` says how many rows were written. `jsonl`: False when another process writes its JSON lines."""
        sink = Sink(self.request.out, name, columns, jsonl and "json" in self.request.formats, self.hashed)
        try:
            sink.write_lines(make)
        finally:
            sink.close()
        self.counts[name] = count()
        return self.counts[name]

    def campaign_filter(self, column: str = "campaign") -> tuple[str, list[Any]]:
        """The SQL condition (and its parameter) that keeps only `--campaign`'s rows, if one was asked."""
        if self.request.campaign is None:
            return "", []
        return f" AND {column} = ?", [self.request.campaign]

    def query(self, sql: str, params: Iterable[Any] = ()) -> Iterator[sqlite_row]:
        cursor = self.store.conn.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        for values in cursor:
            yield dict(zip(names, values))


sqlite_row = dict[str, Any]


def _line_from(pipe: IO[bytes], timeout_s: float) -> bytes:
    """The next line a helper process writes, or b"" when none comes within `timeout_s`."""
    ready, _, _ = select.select([pipe], [], [], timeout_s)
    return pipe.readline() if ready else b""


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _has_table(store: Store, name: str) -> bool:
    return (
        store.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone()
        is not None
    )


def _known_campaign(store: Store, name: str) -> bool:
    """A campaign the database has ever held (its attempts outlive a rename or a removal)."""
    for table in ("campaigns", "attempts"):
        column = "name" if table == "campaigns" else "campaign"
        if (
            _has_table(store, table)
            and store.conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1", (name,)).fetchone()
        ):
            return True
    return False


def prepare_folder(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"export folder {out} exists and is not empty: choose a new --out folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create export folder {out} ({exc.strerror}): choose another --out") from None
    os.chmod(out, 0o700)


# Sections: each writes one table from the database. ------------------------------------------------


def consents(x: Exporter) -> None:
    phone, ref = x.phone, x.ref
    rows = x.store.conn.execute(
        "SELECT phone, purpose, action, source, evidence, given_at, recorded_at, actor FROM consents "
        "WHERE given_at < ? ORDER BY given_at, id",
        [x.request.until],
    )
    x.table(
        "consents",
        ["phone", "phone_ref", "purpose", "action", "source", "evidence", "given_at", "recorded_at", "actor"],
        ((phone(r[0]), ref(r[0]), *r[1:]) for r in rows),
    )


def optouts(x: Exporter) -> None:
    rows = x.query(
        "SELECT * FROM optouts WHERE effective_at < ? ORDER BY effective_at, id", [x.request.until]
    )

    def latency(r: sqlite_row) -> float:
        return (
            datetime.fromisoformat(r["effective_at"].replace("Z", "+00:00"))
            - datetime.fromisoformat(r["requested_at"].replace("Z", "+00:00"))
        ).total_seconds()

    x.table(
        "optouts",
        ["phone", "phone_ref", "channel", "source", "requested_at", "effective_at", "latency_s", "actor"],
        (
            [
                x.phone(r["phone"]),
                x.ref(r["phone"]),
                r["channel"],
                r["source"],
                r["requested_at"],
                r["effective_at"],
                latency(r),
                r["actor"],
            ]
            for r in rows
        ),
    )


def dnc_internal(x: Exporter) -> None:
    rows = x.query("SELECT * FROM dnc_internal WHERE added_at < ? ORDER BY added_at, id", [x.request.until])
    x.table(
        "dnc_internal",
        ["phone", "phone_ref", "reason", "added_at", "added_by", "removed_at", "removed_by"],
        (
            [
                x.phone(r["phone"]),
                x.ref(r["phone"]),
                r["reason"],
                r["added_at"],
                r["added_by"],
                r["removed_at"],
                r["removed_by"],
            ]
            for r in rows
        ),
    )


def erasures(x: Exporter) -> None:
    rows = x.query(
        "SELECT * FROM suppressions WHERE created_at < ? ORDER BY created_at, id", [x.request.until]
    )
    kept = (
        "suppression entry (number), consent and attempt records, ticket and callback records with their "
        "free text redacted, audit rows under legal hold"
    )
    x.table(
        "erasures",
        ["phone", "phone_ref", "reason", "erased_at", "actor", "kept"],
        (
            [x.phone(r["phone"]), x.ref(r["phone"]), r["reason"], r["created_at"], r["actor"], kept]
            for r in rows
        ),
    )


def operations(x: Exporter) -> None:
    rows = audit.rows(x.store.conn, x.request.since)
    x.table(
        "operations",
        [
            "seq",
            "ts",
            "actor",
            "command",
            "entity",
            "entity_id",
            "action",
            "payload",
            "prev_hash",
            "hash",
            "payload_masked",
        ],
        (
            [
                r["seq"],
                r["ts"],
                r["actor"],
                r["command"],
                r["entity"],
                x.text(r["entity_id"]),
                r["action"],
                x.payload(r["payload"]),
                r["prev_hash"],
                r["hash"],
                int(not x.request.unmask),
            ]
            for r in rows
            if r["ts"] < x.request.until
        ),
    )


BASE_SECTIONS: list[Callable[[Exporter], None]] = [consents, optouts, dnc_internal, erasures, operations]


def _sections(store: Store) -> list[Callable[[Exporter], None]]:
    """The sections this database can fill (later areas add theirs when their tables exist)."""
    from .auditsections import SECTIONS  # imported here: it builds on this module

    sections = list(BASE_SECTIONS) + SECTIONS
    for table_name, section in EXTRA_SECTIONS:
        if _has_table(store, table_name):
            sections.append(section)
    return sections


def _count_order() -> list[Callable[[Exporter], None]]:
    from . import auditsections as s

    return [
        *BASE_SECTIONS,
        s.attempts,
        s.blocked,
        s.campaigns,
        s.overrides,
        s.abandonment,
        s.contact_attempts,
        s.dnc_registry,
        s.dnc_national_matches,
        s.tickets,
        s.ticket_events,
        s.callbacks,
    ]


# (table that must exist, section) pairs registered by the campaign, dialer and ticket areas.
EXTRA_SECTIONS: list[tuple[str, Callable[[Exporter], None]]] = []
# Functions that add chart series and summary figures from the written files: (summary, charts, exporter).
SUMMARISERS: list[Callable[[dict[str, Any], dict[str, Any], Exporter], None]] = []


def export(store: Store, request: ExportRequest) -> dict[str, Any]:
    """Write the auditor's folder; return its summary (also in summary.json)."""
    unknown = request.formats - FORMATS
    if unknown:
        raise UsageError(f"unknown export format {', '.join(sorted(unknown))}: choose from csv, json, html")
    if request.end < request.start:
        raise UsageError(f"--to {request.end} is before --from {request.start}: swap them")
    if request.campaign is not None and not _known_campaign(store, request.campaign):
        raise UserError(f"unknown campaign {request.campaign!r}: see `cctool campaign list` for the names")
    created = not request.out.exists()
    prepare_folder(request.out)
    with store.write():  # logged before a row is read: an unmasked export is on record even if it fails
        store.audit(
            "audit_export",
            str(request.out),
            "export_unmasked" if request.unmask else "export",
            {
                "from": request.start.isoformat(),
                "to": request.end.isoformat(),
                "campaign": request.campaign,
                "masked": not request.unmask,
            },
        )
    try:
        interrupts = _Interrupts()
        with signals_handled(interrupts.note, signal.SIGINT, signal.SIGTERM):
            return _write_export(store, request, interrupts.check)
    except BaseException as exc:
        # no half folder for an auditor to mistake for the export, and the log says it did not happen
        _discard(request.out, created)
        with contextlib.suppress(Exception), store.write():
            store.audit("audit_export", str(request.out), "export_failed", {"error": type(exc).__name__})
        raise


def _discard(out: Path, created: bool) -> None:
    """Remove what a failed export wrote (the folder too, if the export created it)."""
    if created:
        shutil.rmtree(out, ignore_errors=True)
        return
    for child in list(out.iterdir()) if out.is_dir() else []:
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


class _Interrupts:
    """Ctrl-C or SIGTERM during an export, noted (`note`, the handler) and raised only between its
    sections (`check`).

    Raised where the signal lands, it could land inside a queue operation of a file's hashing thread
    (`manifest.HashingFile`) and leave its lock taken: the export's cleanup then waited for ever (1 of 13
    tries). A section takes seconds at most, so the export still stops within seconds.
    """

    pending = False

    def note(self, signum: int, frame: object) -> None:
        self.pending = True

    def check(self) -> None:
        if self.pending:
            raise KeyboardInterrupt


def _write_export(store: Store, request: ExportRequest, check: Callable[[], None]) -> dict[str, Any]:
    exporter = Exporter(store, request)
    conn = store.conn
    conn.execute("BEGIN")  # one read snapshot for every file
    try:
        exporter.start_checker()
        exporter.start_json_writer()
        exporter.share_snapshot()
        sections = _sections(store)
        for section in sections:
            check()
            section(exporter)
        check()
        head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    except BaseException:
        exporter.close_checker()
        raise
    finally:
        conn.execute("COMMIT")
    violations = exporter.violations()
    # counts in the sections' documented order (the checker's inputs are written first)
    order = {section.__name__: i for i, section in enumerate(_count_order())}
    counts = dict(sorted(exporter.counts.items(), key=lambda item: order.get(item[0], len(order))))
    summary: dict[str, Any] = {
        "from": request.start.isoformat(),
        "to": request.end.isoformat(),
        "campaign": request.campaign,
        "generated_at": to_iso(utcnow()),
        "tool_version": __version__,
        "masked": not request.unmask,
        "exported_by": store.actor,
        "audit_head": head[1] if head else audit.GENESIS,
        "audit_head_seq": head[0] if head else 0,
        "counts": counts,
        "violations": violations,
    }
    charts: dict[str, Any] = {}
    from .auditsummary import SUMMARISERS as dialing_summarisers

    for summarise in [*dialing_summarisers, *SUMMARISERS]:
        summarise(summary, charts, exporter)
    (request.out / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    if "html" in request.formats:
        from .report_html import render

        (request.out / "report.html").write_text(render(summary, charts), encoding="utf-8")
    manifest.write(
        request.out,
        {
            "tool": "cctool",
            "tool_version": __version__,
            "from": summary["from"],
            "to": summary["to"],
            "campaign": request.campaign,
            "masked": not request.unmask,
            "generated_at": summary["generated_at"],
            "audit_head": summary["audit_head"],
            "audit_head_seq": summary["audit_head_seq"],
        },
        exporter.hashed,
    )
    return summary
