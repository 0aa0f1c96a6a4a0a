"""`contacts import`: a CRM export into contacts, in one transaction, with a rejects file.

Work is split the way the cost falls. Parsing CSV and classifying numbers is pure CPU and runs in
worker processes, one block of the file each (blocks end on record boundaries). Each worker writes
its block's valid rows, tags and consent answers into its own throw-away SQLite file (journal and
sync off, outside the database, deleted at the end), so no rows travel back through a pipe. The main
process attaches each staging file and applies it with set-based SQL: new numbers, their tags and
consent rows go in with INSERT ... SELECT (ids in file order); only the rows naming a number already
in the book, or one met earlier in the file, are read back and go through the update rules in Python
(new tags added, non-empty fields replace, consent recorded when it changes). Everything happens
inside one `BEGIN IMMEDIATE` transaction, so a crash or Ctrl-C leaves the database as it was; a dry
run is the same transaction rolled back.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import multiprocessing
import os
import re
import shutil
import signal
import sqlite3
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from json.encoder import encode_basestring as encode_json
from pathlib import Path
from typing import Any

from . import csvread
from .children import die_with_parent
from .csvread import ContactFile, open_contact_file, parse_maps
from .errors import UsageError
from .outfile import atomic_text, check_writable
from .phonefast import Classifier
from .phones import region_code
from .store import Store
from .timeutil import is_zone, to_iso, utcnow, zone_name

COUNT_KEYS = ("read", "imported", "updated", "unchanged", "duplicates_in_file", "rejected")
CONSENT_VALUES = {
    **dict.fromkeys(("yes", "y", "true", "t", "1", "是", "同意", "grant", "granted"), "grant"),
    **dict.fromkeys(("no", "n", "false", "f", "0", "否", "不同意", "revoke", "revoked"), "revoke"),
}
_TAG_SPLIT = re.compile(r"[,;|，；]")
# A parallel pool only pays for itself on big files.
PARALLEL_MIN_CHARS = 4 << 20

# (phone, region, number_type, number_zones, timezone, name, email, attributes, tag set id or None);
# source and times are the import's
Row = tuple[Any, ...]


@dataclass
class Spec:
    """What a worker needs to turn a block of the file into rows."""

    delimiter: str
    columns: dict[str, int]
    attributes: list[tuple[int, str]]
    region: str | None
    tags: tuple[str, ...]
    source: str
    now: str
    erased: frozenset[str]
    # (file name, evidence prefix, actor) for consent rows: built here, in the workers, not in the writer
    consent_from: tuple[str, str, str] = ("", "", "")
    staging: str = ""  # folder for the blocks' staging databases
    phone_fallbacks: tuple[int, ...] = ()  # other phone columns, read when the phone column is empty

    @property
    def extra_tags_set(self) -> frozenset[str]:
        return frozenset(self.tags)


@dataclass
class Parsed:
    """One block, parsed: rows ready to insert and what goes beside them."""

    read: int = 0
    chars: int = 0
    rows: list[Row] = field(default_factory=list)
    tag_sets: dict[tuple[str, ...], int] = field(
        default_factory=dict
    )  # the distinct tag sets of the rows, numbered
    consents: dict[int, tuple[str, str, int]] = field(default_factory=dict)  # (phone, action, line)
    rejects: list[tuple[int, str, list[str]]] = field(default_factory=list)


@dataclass
class ImportResult:
    counts: dict[str, int]
    file: str
    encoding: str
    delimiter: str
    dry_run: bool
    rejects_file: str | None
    import_id: int | None
    reasons: dict[str, int] = field(default_factory=dict)  # rejected rows by reason (not in the JSON)

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts)


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in _TAG_SPLIT.split(text) if t.strip()]


_SPEC: Spec | None = None
_CLASSIFY: Classifier | None = None


def _init_worker(spec: Spec) -> None:
    global _SPEC, _CLASSIFY
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool's own terminate(), not the command's handler
    die_with_parent()
    # The writer is the import's critical path (one writer, and it works alone on the last block):
    # when the cores are short, it goes first.
    os.nice(5)
    _SPEC, _CLASSIFY = spec, Classifier(spec.region)


def _cell(record: list[str], index: int | None) -> str:
    return record[index].strip() if index is not None and index < len(record) else ""


def parse_block(block: str, first_line: int) -> Parsed:
    """Parse one block of records (first record on `first_line`) with the worker's Spec."""
    spec, classify = _SPEC, _CLASSIFY
    assert spec is not None and classify is not None
    out = Parsed(chars=len(block))
    cols = spec.columns
    # Missing columns point past the end of every record, so the lookups below need no None checks.
    far = 1 << 30
    phone_i, name_i, email_i = cols.get("phone", far), cols.get("name", far), cols.get("email", far)
    fallbacks = spec.phone_fallbacks
    tags_i, tz_i, consent_i = (
        cols.get("tags", far),
        cols.get("timezone", far),
        cols.get("marketing_consent", far),
    )
    has_consent = consent_i != far
    # Attributes as JSON by hand: sorted keys, json.dumps' separators, C string encoder.
    attributes = [(i, encode_json(name)) for i, name in sorted(spec.attributes, key=lambda a: a[1])]
    extra_tags, erased = spec.extra_tags_set, spec.erased
    zone_json: dict[tuple[str, ...], str] = {}
    tag_ids: dict[str, int] = {}  # tags cell -> its tag set's number
    single = len(attributes) == 1
    single_i, single_key = attributes[0] if single else (far, "")
    single_json: dict[str, str] = {}
    reader = csv.reader(io.StringIO(block, newline=""), delimiter=spec.delimiter)
    rows, rejects, tag_sets, consents = out.rows, out.rejects, out.tag_sets, out.consents
    consumed = read = 0
    for record in reader:
        line = first_line + consumed
        consumed = reader.line_num
        width = len(record)
        cell = record[phone_i].strip() if phone_i < width else ""
        if not cell and fallbacks:  # a CRM with Mobile and Tel columns fills one or the other
            cell = next((record[i].strip() for i in fallbacks if i < width and record[i].strip()), "")
        got = classify(cell)
        if isinstance(got, str):
            if got == "missing_phone" and not any(cell.strip() for cell in record):
                continue  # a blank line, or a spreadsheet's empty row (",,,,")
            read += 1
            rejects.append((line, got, record))
            continue
        read += 1
        phone, region, number_type, zones = got
        if phone in erased:
            rejects.append((line, "erased", record))
            continue
        tz = record[tz_i].strip() if tz_i < width else ""
        if tz and not is_zone(tz):
            tz = zone_name(tz) or ""
            if not tz:
                rejects.append((line, "bad_timezone", record))
                continue
        if has_consent:
            value = record[consent_i].strip() if consent_i < width else ""
            if value:
                consent = CONSENT_VALUES.get(value.lower())
                if consent is None:
                    rejects.append((line, "bad_consent", record))
                    continue
                consents[len(rows)] = (phone, consent, line)
        attrs = "{}"
        if single:  # one extra column, usually few values (a city, a plan): encode each value once
            value = record[single_i].strip() if single_i < width else ""
            if value:
                attrs = single_json.get(value) or single_json.setdefault(
                    value, "{" + f"{single_key}: {encode_json(value)}" + "}"
                )
        elif attributes:
            pairs = [
                f"{key}: {encode_json(v)}" for i, key in attributes if i < width and (v := record[i].strip())
            ]
            if pairs:
                attrs = "{" + ", ".join(pairs) + "}"
        zjson = zone_json.get(zones)
        if zjson is None:
            zjson = zone_json[zones] = json.dumps(list(zones))
        tags = record[tags_i].strip() if tags_i < width else ""
        tag_id = None
        if tags or extra_tags:
            tag_id = tag_ids.get(tags)
            if tag_id is None:  # a file repeats few tag cells: split and sort each once
                tag_set = tuple(sorted(extra_tags.union(split_tags(tags))))
                tag_id = tag_ids[tags] = tag_sets.setdefault(tag_set, len(tag_sets) + 1)
        rows.append(
            (
                phone,
                region,
                number_type,
                zjson,
                tz or None,
                (record[name_i].strip() if name_i < width else "") or None,
                (record[email_i].strip() if email_i < width else "") or None,
                attrs,
                tag_id,
            )
        )
    out.read = read
    return out


@dataclass
class Staged:
    """One block, parsed and written to its own staging database: only this small summary travels back."""

    path: str
    read: int
    chars: int
    rows: int
    rejects: list[tuple[int, str, list[str]]]


def stage_block(parsed: Parsed, path: str) -> Staged:
    """Write a parsed block to a throw-away SQLite file the writer reads with INSERT ... SELECT.

    Table r holds the rows (idx = row index + 1, tagset the number of the row's tag set), s the tag sets
    (a file repeats few: one row a set and tag, not one a row and tag) and k the consent rows. The
    file is outside the database, so an interrupted
    import leaves the database untouched; journal and sync are off because nothing here must survive.
    """
    rows = parsed.rows
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN")
        conn.execute(
            "CREATE TABLE r (idx INTEGER PRIMARY KEY, phone, region, number_type, number_zones, timezone, "
            "name, email, attributes, tagset)"
        )
        conn.execute("CREATE TABLE s (id INTEGER, tag TEXT, PRIMARY KEY (id, tag)) WITHOUT ROWID")
        conn.execute("CREATE TABLE k (idx INTEGER PRIMARY KEY, phone, action, line)")
        conn.executemany("INSERT INTO r VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany(
            "INSERT INTO s VALUES (?, ?)", [(n, tag) for tags, n in parsed.tag_sets.items() for tag in tags]
        )
        conn.executemany(
            "INSERT INTO k VALUES (?, ?, ?, ?)",
            [(i + 1, *consent) for i, consent in parsed.consents.items()],
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return Staged(path, parsed.read, parsed.chars, len(rows), parsed.rejects)


def _parse_task(task: tuple[str, int, int]) -> Staged:
    block, line, number = task
    assert _SPEC is not None
    return stage_block(parse_block(block, line), os.path.join(_SPEC.staging, f"block{number}.db"))


# SQLite attaches at most 10 databases to a connection, and a staging file stays attached until the
# import's transaction ends: the body is cut into at most this many blocks.
MAX_BLOCKS = 8
# Shares of a big file's body, in 32nds. The writer waits for the first block and works alone on the
# last one, with a core idle both times: both are small, the middle ones big.
BLOCK_SHARES = (1, 2, 5, 7, 7, 5, 3, 2)


def block_sizes(chars: int) -> list[int]:
    """How many characters each block of a body of `chars` takes (record boundaries round them up)."""
    if chars < MAX_BLOCKS * csvread.BLOCK_CHARS:
        return [csvread.BLOCK_CHARS] * (MAX_BLOCKS - 1)
    return [chars * share // sum(BLOCK_SHARES) for share in BLOCK_SHARES[:-1]]


def _tasks(contact_file: ContactFile, first_line: int) -> Iterator[tuple[str, int, int]]:
    line = first_line
    for number, block in enumerate(contact_file.blocks(block_sizes(len(contact_file.body)))):
        yield block, line, number
        line += block.count("\n")


def _workers() -> int:
    wanted = os.environ.get("CCTOOL_IMPORT_WORKERS")
    return int(wanted) if wanted else (os.cpu_count() or 1)


def parsed_blocks(contact_file: ContactFile, spec: Spec, first_line: int) -> Generator[Staged, None, None]:
    """Parsed blocks in file order: in worker processes for big files, here for small ones."""
    tasks = _tasks(contact_file, first_line)
    workers = _workers()
    if workers < 1 or len(contact_file.body) < PARALLEL_MIN_CHARS:
        _init_worker_here(spec)
        for task in tasks:
            yield _parse_task(task)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    # Ctrl-C while the pool is half built would leave workers nobody terminates: hold it until it exists.
    blocked = hasattr(signal, "pthread_sigmask")
    if blocked:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pool = context.Pool(workers, initializer=_init_worker, initargs=(spec,))
    finally:
        if blocked:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    try:
        pending: deque[Any] = deque()
        for task in tasks:
            pending.append(pool.apply_async(_parse_task, (task,)))
            if len(pending) > workers * 2:  # keep memory bounded: a few blocks in flight
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _init_worker_here(spec: Spec) -> None:
    global _SPEC, _CLASSIFY
    _SPEC, _CLASSIFY = spec, Classifier(spec.region)


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def import_contacts(
    store: Store,
    path: Path | str,
    *,
    region: str | None = None,
    maps: list[str] | None = None,
    tags: list[str] | None = None,
    source: str | None = None,
    rejects: Path | str | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import a contact file; returns the counts. Unreadable input raises UserError before any write."""
    path = Path(path)
    region = region_code(region)
    extra_tags = tuple(sorted({t for tag in tags or [] for t in split_tags(tag)}))
    contact_file = open_contact_file(path, parse_maps(maps or []))
    now = to_iso(utcnow())
    source = source or path.name
    conn = store.conn
    rejects_path = Path(rejects) if rejects else None
    if rejects_path is not None:
        if rejects_path.exists() and rejects_path.resolve() == path.resolve():
            raise UsageError(f"--rejects {rejects_path} is the file being imported: give another file name")
        check_writable(rejects_path, "--rejects")  # now, not after a million rows
    elif not dry_run:
        rejects_path = path.with_name(f"{path.stem}.rejects.csv")
    header_lines = contact_file.header_line + _header_newlines(contact_file)
    counts = dict.fromkeys(COUNT_KEYS, 0)
    reject_rows: list[tuple[int, str, list[str]]] = []
    import_id = None
    _remove_dead_staging()
    staging = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-")  # mode 0700: personal data
    try:
        with store.write():
            erased = frozenset(
                r[0] for r in conn.execute("SELECT phone FROM suppressions WHERE reason='erased'")
            )
            import_id = _open_import(store, contact_file, source, now)
            spec = Spec(
                contact_file.delimiter,
                contact_file.columns,
                contact_file.attributes,
                region,
                extra_tags,
                source,
                now,
                erased,
                (path.name, f"import {import_id} row ", store.actor),
                staging,
                tuple(contact_file.phone_fallbacks),
            )
            writer = _Writer(conn, spec)
            total, done = max(len(contact_file.body), 1), 0
            with closing(parsed_blocks(contact_file, spec, header_lines + 1)) as blocks:
                for staged in blocks:
                    writer.apply(staged, counts)
                    reject_rows.extend(staged.rejects)
                    counts["read"] += staged.read
                    counts["rejected"] += len(staged.rejects)
                    done += staged.chars
                    if progress is not None:
                        progress(done, total)
            writer.finish(counts)
            _close_import(store, import_id, contact_file, source, counts, extra_tags, region, rejects_path)
            if reject_rows and rejects_path is not None:
                _write_rejects(rejects_path, contact_file.header, reject_rows)
            if dry_run:
                raise _DryRun
    except _DryRun:
        import_id = None
    finally:
        _detach_all(conn)
        shutil.rmtree(staging, ignore_errors=True)
    written = rejects_path if reject_rows and rejects_path is not None else None
    return ImportResult(
        counts,
        str(path),
        contact_file.encoding,
        contact_file.delimiter,
        dry_run,
        str(written) if written else None,
        import_id,
        dict(Counter(reason for _, reason, _ in reject_rows)),
    )


def _detach_all(conn: sqlite3.Connection) -> None:
    """Let go of the staging files once the transaction is over (committed or rolled back)."""
    conn.execute("DROP TABLE IF EXISTS temp.import_skip")
    for _, name, _ in conn.execute("PRAGMA database_list").fetchall():
        if name.startswith("stage"):
            conn.execute(f"DETACH DATABASE {name}")


STAGING_PREFIX = "cctool-import-"


def _remove_dead_staging() -> None:
    """Staging folders of imports whose process is gone (`kill -9`: no cleanup ran); each holds up to a
    few blocks of someone's contacts. A folder is named after its process: a live one is left alone."""
    root = tempfile.gettempdir()
    with contextlib.suppress(OSError):
        for name in os.listdir(root):
            pid = name[len(STAGING_PREFIX) :].split("-", 1)[0]
            if not (name.startswith(STAGING_PREFIX) and pid.isdigit()) or _alive(int(pid)):
                continue
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # PermissionError: another user's process, alive (and not ours to remove)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _header_newlines(contact_file: ContactFile) -> int:
    return sum(cell.count("\n") for cell in contact_file.header)


# Consent rows for new numbers, straight from a staging table k (evidence: "import <id> row <line>").
# Inserted in phone order, which keeps the consents_phone index inserts local (a block holds each new
# number once, so no number's own records change order).
NEW_CONSENTS = (
    "INSERT INTO main.consents (phone, purpose, action, source, evidence, given_at, recorded_at, actor) "
    "SELECT k.phone, 'marketing', k.action, ?, ? || k.line, ?, ?, ?"
)


class _Writer:
    """Applies staged blocks to the database.

    The common case is set-based SQL over the attached staging file: new numbers, their tags and their
    consent rows go in with INSERT ... SELECT, no Python per row. Row idx of a block becomes contact
    `base + idx`, so a row's id is known without looking its number up; only the rows that meet a
    number already in the book, or repeat one met earlier in the file, are read back (those whose id
    was left unused) and go through the update rules in Python.
    """

    def __init__(self, conn: sqlite3.Connection, spec: Spec):
        self.conn, self.now = conn, spec.now
        file_name, evidence, actor = spec.consent_from
        # what every consent row of this import shares: source, evidence prefix, given, recorded, actor
        self.consent_args = (file_name, evidence, spec.now, spec.now, actor)
        self.source = spec.source
        self.next_id = (conn.execute("SELECT MAX(id) FROM main.contacts").fetchone()[0] or 0) + 1
        self.first_new_id = self.next_id  # ids from here on were created by this import
        # consent rows above this id were written by this import
        self.consent_floor = conn.execute("SELECT MAX(id) FROM main.consents").fetchone()[0] or 0
        self.known_seen: set[str] = set()  # numbers already in the book that the file has named
        self.consent_rows: list[tuple[str, ...]] = []  # written after each block
        self.consent_now: dict[str, str | None] = {}  # the action this file last set, for repeated numbers
        self.pending: dict[int, _Known] = {}  # numbers already in the book, applied in finish()
        self.attached = 0
        self.cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute("PRAGMA cache_size = -131072")  # 128 MiB: the phone index stays in memory

    def apply(self, staged: Staged, counts: dict[str, int]) -> None:
        if not staged.rows:
            return
        conn, base = self.conn, self.next_id - 1
        schema = f"stage{self.attached}"
        self.attached += 1
        conn.execute(f"ATTACH DATABASE ? AS {schema}", (staged.path,))
        r, k = f"{schema}.r", f"{schema}.k"
        inserted = insert_contacts(conn, StagedBlock(schema, self.source, self.now), base)
        self.next_id = base + staged.rows + 1
        counts["imported"] += inserted
        tags = (
            "INSERT INTO main.contact_tags (contact_id, tag) SELECT ? + r.idx, s.tag "
            f"FROM {r} r CROSS JOIN {schema}.s s ON s.id = r.tagset"
        )
        if inserted == staged.rows:  # the usual block: every row a new number
            conn.execute(tags, (base,))
            conn.execute(f"{NEW_CONSENTS} FROM {k} k ORDER BY phone", self.consent_args)
            return
        # Row idx made contact base + idx, unless its number was known: then that id is free (a gap).
        # The ids present come back in a cheap range scan; the few gaps go to a small temp table.
        present = conn.execute(
            "SELECT id - ? FROM main.contacts WHERE id > ? AND id <= ?", (base, base, base + staged.rows)
        )
        gaps = sorted(set(range(1, staged.rows + 1)).difference(idx for (idx,) in present))
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_skip (idx INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM temp.import_skip")
        conn.executemany("INSERT INTO temp.import_skip VALUES (?)", [(idx,) for idx in gaps])
        made = "{0}.idx NOT IN (SELECT idx FROM temp.import_skip)"
        conn.execute(f"{tags} WHERE {made.format('r')}", (base,))
        conn.execute(
            f"{NEW_CONSENTS} FROM {k} k WHERE {made.format('k')} ORDER BY k.phone", self.consent_args
        )
        columns = "r.idx, c.id, r.phone, r.region, r.number_type, r.number_zones, r.timezone, r.name, r.email, r.attributes"
        known = conn.execute(
            f"SELECT {columns} FROM temp.import_skip g CROSS JOIN {r} r ON r.idx = g.idx "
            "CROSS JOIN main.contacts c ON c.phone = r.phone ORDER BY g.idx"
        ).fetchall()
        self._known(known, schema, counts)

    def _known(self, known: list[tuple[Any, ...]], schema: str, counts: dict[str, int]) -> None:
        """Rows naming a number the book had, or one this file named before: the update rules."""
        conn = self.conn
        indexes = [row[0] for row in known]
        tags: dict[int, list[str]] = {}
        consents: dict[int, tuple[str, ...]] = {}
        for start in range(0, len(indexes), 500):
            batch = indexes[start : start + 500]
            marks = ",".join("?" * len(batch))
            for idx, tag in conn.execute(
                f"SELECT r.idx, s.tag FROM {schema}.r r CROSS JOIN {schema}.s s ON s.id = r.tagset "
                f"WHERE r.idx IN ({marks})",
                batch,
            ):
                tags.setdefault(idx, []).append(tag)
            for idx, *consent in conn.execute(
                f"SELECT idx, phone, action, line FROM {schema}.k WHERE idx IN ({marks})",
                batch,
            ):
                phone, action, line = consent
                file_name, evidence, given, recorded, actor = self.consent_args
                consents[idx] = (phone, action, file_name, evidence + str(line), given, recorded, actor)
        merges: list[tuple[Any, ...]] = []
        merge_tags: list[tuple[int, str]] = []
        pending, known_seen = self.pending, self.known_seen
        for idx, contact_id, *row in known:
            phone = row[0]
            row_tags = tags.get(idx, ())
            consent = consents.get(idx)
            if contact_id >= self.first_new_id:
                # A repeat of a number this import created: merge in SQL, in bulk, without reading it back.
                counts["duplicates_in_file"] += 1
                merges.append((row[5], row[6], row[4], row[7], row[7], contact_id))
                merge_tags.extend((contact_id, tag) for tag in row_tags)
                if consent is not None and self._consent_now(phone) != consent[1]:
                    self.consent_rows.append(consent)
                    self.consent_now[phone] = consent[1]
                continue
            # A number already in the book: gather what the whole file says, compare once at the end,
            # so that a re-import changes nothing even when the file repeats a number with other values.
            if phone in known_seen:
                counts["duplicates_in_file"] += 1
            else:
                known_seen.add(phone)
            entry = pending.get(contact_id)
            if entry is None:
                entry = pending[contact_id] = _Known(phone)
            entry.add(tuple(row), tuple(row_tags), consent)
        merges.sort(key=lambda m: m[-1])  # in id order: the pages are visited once, in order
        merge_tags.sort()
        if merges:
            conn.executemany(
                "UPDATE main.contacts SET name = COALESCE(?, name), email = COALESCE(?, email), "
                "timezone = COALESCE(?, timezone), "
                "attributes = CASE WHEN ? = '{}' THEN attributes ELSE json_patch(attributes, ?) END WHERE id = ?",
                merges,
            )
        if merge_tags:
            conn.executemany(
                "INSERT OR IGNORE INTO main.contact_tags (contact_id, tag) VALUES (?, ?)", merge_tags
            )
        self._write_consents()

    def _consent_now(self, phone: str) -> str | None:
        """The marketing consent this import last recorded for a number it created (None: none yet)."""
        if phone not in self.consent_now:
            found = self.conn.execute(
                "SELECT action FROM main.consents WHERE phone = ? AND purpose = 'marketing' AND id > ? "
                "ORDER BY id DESC LIMIT 1",
                (phone, self.consent_floor),
            ).fetchone()
            self.consent_now[phone] = found[0] if found else None
        return self.consent_now[phone]

    def _write_consents(self) -> None:
        if self.consent_rows:
            # Consent from a file: its source is the file, its evidence the import and the row.
            self.conn.executemany(
                "INSERT INTO main.consents (phone, purpose, action, source, evidence, given_at, recorded_at, actor) "
                "VALUES (?, 'marketing', ?, ?, ?, ?, ?, ?)",
                self.consent_rows,
            )
            self.consent_rows = []

    def finish(self, counts: dict[str, int]) -> None:
        """Apply the update rules to the numbers that were already in the book, in batches."""
        conn, ids = self.conn, list(self.pending)
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            marks = ",".join("?" * len(batch))
            current = {
                r[0]: r[1:]
                for r in conn.execute(
                    f"SELECT id, name, email, timezone, attributes FROM contacts WHERE id IN ({marks})", batch
                )
            }
            tags_now: dict[int, set[str]] = {}
            for contact_id, tag in conn.execute(
                f"SELECT contact_id, tag FROM contact_tags WHERE contact_id IN ({marks})", batch
            ):
                tags_now.setdefault(contact_id, set()).add(tag)
            phones = [self.pending[i].phone for i in batch]
            consent_now = dict(
                conn.execute(
                    "SELECT c.phone, c.action FROM consents c WHERE c.purpose = 'marketing' AND c.id = ("
                    "SELECT id FROM consents WHERE phone = c.phone AND purpose = 'marketing' "
                    f"ORDER BY given_at DESC, id DESC LIMIT 1) AND c.phone IN ({marks})",
                    phones,
                )
            )
            updates: list[tuple[Any, ...]] = []
            new_tags: list[tuple[int, str]] = []
            for contact_id in batch:
                entry = self.pending[contact_id]
                name, email, tz, attributes_text = current[contact_id]
                attributes = json.loads(attributes_text or "{}")
                merged = {**attributes, **entry.attributes} if entry.attributes else attributes
                new = (entry.name or name, entry.email or email, entry.timezone or tz)
                changed = False
                if new != (name, email, tz) or merged != attributes:
                    attrs = json.dumps(merged, ensure_ascii=False, sort_keys=True)
                    updates.append((*new, attrs, self.now, contact_id))
                    changed = True
                added = entry.tags - tags_now.get(contact_id, set()) if entry.tags else None
                if added:
                    new_tags.extend((contact_id, tag) for tag in sorted(added))
                    changed = True
                if entry.consent is not None and consent_now.get(entry.phone) != entry.consent[1]:
                    self.consent_rows.append(entry.consent)
                    changed = True
                counts["updated" if changed else "unchanged"] += 1
            conn.executemany(
                "UPDATE contacts SET name = ?, email = ?, timezone = ?, attributes = ?, updated_at = ? WHERE id = ?",
                updates,
            )
            conn.executemany("INSERT INTO contact_tags (contact_id, tag) VALUES (?, ?)", new_tags)
            self._write_consents()
        conn.execute(f"PRAGMA cache_size = {int(self.cache_size)}")


class _Known:
    """What a file says, over all its rows, about a number that was already in the book."""

    __slots__ = ("phone", "name", "email", "timezone", "attributes", "tags", "consent")

    def __init__(self, phone: str):
        self.phone = phone
        self.name: str | None = None
        self.email: str | None = None
        self.timezone: str | None = None
        self.attributes: dict[str, str] | None = None  # None until a row has some: keeps a re-import small
        self.tags: set[str] | None = None
        self.consent: tuple[str, ...] | None = None

    def add(self, row: Row, tags: tuple[str, ...], consent: tuple[str, ...] | None) -> None:
        """Later non-empty cells replace earlier ones; tags add up; the last consent answer counts."""
        self.name = row[5] or self.name
        self.email = row[6] or self.email
        self.timezone = row[4] or self.timezone
        if row[7] != "{}":
            self.attributes = {**(self.attributes or {}), **json.loads(row[7])}
        if tags:
            self.tags = self.tags.union(tags) if self.tags else set(tags)
        if consent is not None:
            self.consent = consent


@dataclass(frozen=True)
class StagedBlock:
    """An attached staging database and the values its rows share."""

    schema: str
    source: str
    now: str


def insert_contacts(conn: sqlite3.Connection, block: StagedBlock, base: int) -> int:
    """Insert a staged block's new numbers; returns how many. Row idx becomes contact `base + idx`, so ids
    follow the file; a row whose number the book already has, or that repeats one met earlier in the file,
    is skipped by the UNIQUE phone (OR IGNORE) and leaves its id unused, as a sequence does in other
    databases when an insert meets a conflict."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO main.contacts (id, phone, region, number_type, number_zones, timezone, name, "
        "email, attributes, source, created_at, updated_at) SELECT ? + idx, phone, region, number_type, "
        f"number_zones, timezone, name, email, attributes, ?, ?, ? FROM {block.schema}.r ORDER BY idx",
        (base, block.source, block.now, block.now),
    )
    return cursor.rowcount


def _open_import(store: Store, contact_file: ContactFile, source: str, now: str) -> int:
    """The import's own record, made first so that consent rows can point at it."""
    cursor = store.conn.execute(
        "INSERT INTO imports (file_name, sha256, source, encoding, at, actor, read, imported, updated, unchanged, "
        "duplicates_in_file, rejected) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0)",
        (contact_file.path.name, contact_file.sha256, source, contact_file.encoding, now, store.actor),
    )
    return int(cursor.lastrowid or 0)


def _close_import(
    store: Store,
    import_id: int,
    contact_file: ContactFile,
    source: str,
    counts: dict[str, int],
    tags: tuple[str, ...],
    region: str | None,
    rejects_path: Path | None,
) -> None:
    store.conn.execute(
        "UPDATE imports SET read = ?, imported = ?, updated = ?, unchanged = ?, duplicates_in_file = ?, "
        "rejected = ? WHERE id = ?",
        (*(counts[k] for k in COUNT_KEYS), import_id),
    )
    store.audit(
        "imports",
        import_id,
        "contacts.import",
        {
            "file": contact_file.path.name,
            "sha256": contact_file.sha256,
            "encoding": contact_file.encoding,
            "source": source,
            "region": region,
            "tags": list(tags),
            **counts,
            "rejects_file": str(rejects_path) if counts["rejected"] and rejects_path else None,
        },
    )


def _write_rejects(path: Path, header: list[str], rows: list[tuple[int, str, list[str]]]) -> None:
    """Rejected rows as they were, with their row number and reason (UTF-8 with BOM for spreadsheets)."""
    with atomic_text(path, "--rejects") as handle:
        out = csv.writer(handle)
        out.writerow(["row", "reason", *header])
        for line, reason, record in sorted(rows, key=lambda r: r[0]):
            out.writerow([line, reason, *record])
