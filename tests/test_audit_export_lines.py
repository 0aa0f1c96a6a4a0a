"""attempts.csv is written by SQLite (auditlines): it must be, byte for byte, what csv.writer writes."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cctool import auditlines
from cctool.auditsections import ATTEMPT_COLUMNS, ATTEMPT_FIELDS

from . import auditdata as data


def _csv_text(values: list[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def _cells(conn: sqlite3.Connection, cell: str, values: list[object], declared: str) -> list[str]:
    conn.execute(f"CREATE TABLE IF NOT EXISTS t_{declared} (x {declared})")
    conn.execute(f"DELETE FROM t_{declared}")
    conn.executemany(f"INSERT INTO t_{declared} VALUES (?)", [(v,) for v in values])
    rows = conn.execute(
        f"SELECT {auditlines.line([cell, cell], after='|')}, x FROM t_{declared} ORDER BY rowid"
    )
    return [(text, _csv_text([stored, stored])[:-2] + "|") for text, stored in rows]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False) | st.none() | st.integers(-(10**15), 10**15), max_size=20))
def test_reals_are_printed_as_python_prints_them(values: list[object]) -> None:
    conn = sqlite3.connect(":memory:")
    assert auditlines.install(conn)
    for got, want in _cells(conn, auditlines.real_cell("x"), values, "REAL"):
        assert got == want


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.floats(min_value=-1e6, max_value=1e6).map(lambda v: round(v, 3))
        | st.tuples(
            st.floats(0, 500).map(lambda v: round(v, 3)), st.floats(0, 500).map(lambda v: round(v, 3))
        ).map(sum),
        max_size=30,
    )
)
def test_dialer_durations_and_their_sums_are_printed_as_python_prints_them(values: list[float]) -> None:
    conn = sqlite3.connect(":memory:")
    auditlines.install(conn)
    for got, want in _cells(conn, auditlines.real_cell("x"), values, "REAL"):
        assert got == want


def test_odd_values_in_any_column_go_through_python() -> None:
    conn = sqlite3.connect(":memory:")
    auditlines.install(conn)
    odd: list[object] = [
        None,
        "",
        "text",
        "12",
        "n/a",
        b"\x00blob",
        7,
        -3,
        2.5,
        1e20,
        1e-7,
        float("inf"),
        0.1 + 0.2,
    ]
    for declared, cell in (
        ("TEXT", auditlines.text_cell("x")),
        ("INTEGER", auditlines.integer_cell("x")),
        ("REAL", auditlines.real_cell("x")),
    ):
        for got, want in _cells(conn, cell, odd, declared):
            assert got == want, declared


def test_an_sqlite_printing_reals_otherwise_sends_every_real_to_python() -> None:
    conn = sqlite3.connect(":memory:")
    auditlines.install(conn)
    for got, want in _cells(
        conn, auditlines.real_cell("x", sql_prints_reals=False), [0.1, 0.1 + 0.2, None], "REAL"
    ):
        assert got == want


def _reference_attempts(db: Path, masked: dict[str, tuple[str, str]]) -> str:
    """attempts.csv as csv.writer writes the selected values, with the export's own masks and references."""
    conn = sqlite3.connect(db)
    exprs = [expr for _name, expr in ATTEMPT_FIELDS if expr is not None]
    cut = ATTEMPT_COLUMNS.index("phone")
    rows = conn.execute(
        f"SELECT a.phone, {', '.join(exprs)} FROM attempts a "
        "LEFT JOIN campaign_versions v ON v.campaign = a.campaign AND v.version = a.campaign_version "
        "LEFT JOIN (SELECT version, max(registry_date) AS registry_date FROM dnc_registry_loads "
        "GROUP BY version) r ON r.version = a.registry_version ORDER BY a.started_at, a.id"
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ATTEMPT_COLUMNS)
    for phone, *values in rows:
        writer.writerow([*values[:cut], *masked[phone], *values[cut:]])
    return buffer.getvalue()


def test_attempts_with_awkward_values_are_written_as_csv_writer_would(cli, store, db_path, tmp_path) -> None:
    built = data.build(store)
    awkward: list[dict[str, object]] = [
        {"disposition": 'said "no", then hung up', "agent": "a,b"},
        {"disposition": "two\nlines", "ring_s": 0.1, "talk_s": 0.2},
        {"disposition": "cr\rhere", "ring_s": 1e16, "talk_s": None, "connect_delay_s": 1e-5},
        {"ring_s": "n/a", "sip_code": 4.5, "caller_id": None, "zones": ""},
        {"disposition": "ünïcödé 张伟 ✓", "ring_s": 2.0 / 3.0, "talk_s": 123456789012.125},
        {"phone": "+44 20,7946", "ring_s": None, "talk_s": None},
    ]
    with store.write():
        for k, extra in enumerate(awkward):
            contact = built.contacts[k]
            started = data.datetime(2026, 10, 5, 15, k, tzinfo=data.UTC)
            row = data.attempt_row(built, contact, "renewal", 1, started, "answered", **extra)
            data._insert(store, "attempts", row)
    for extra in ((), ("--unmask",)):
        out = tmp_path / ("clear" if extra else "masked")
        result = cli(
            "audit", "export", "--from", "2000-01-01", "--to", "2999-12-31", "--out", str(out), *extra
        )
        assert result.code == 0, result.stderr
        written = (out / "attempts.csv").read_bytes().decode("utf-8")
        masks: dict[str, tuple[str, str]] = {}
        conn = sqlite3.connect(db_path)
        phones = [p for (p,) in conn.execute("SELECT phone FROM attempts ORDER BY started_at, id")]
        with (out / "attempts.csv").open(newline="", encoding="utf-8") as handle:
            for phone, row in zip(phones, csv.DictReader(handle)):
                masks[phone] = (row["phone"], row["phone_ref"])
        assert written == _reference_attempts(db_path, masks)
        lines = (out / "attempts.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["phone"] for line in lines] == [masks[p][0] for p in phones]


def _awkward_export(cli, store, tmp_path: Path, monkeypatch, name: str, *extra: str) -> Path:
    """Export the awkward attempts with a fixed reference key, so that two exports can be compared."""
    from cctool import auditexport

    monkeypatch.setattr(auditexport.secrets, "token_bytes", lambda n: b"k" * n)
    out = tmp_path / name
    result = cli("audit", "export", "--from", "2000-01-01", "--to", "2999-12-31", "--out", str(out), *extra)
    assert result.code == 0, result.stderr
    assert cli("audit", "verify", "--export", str(out)).code == 0
    return out


def _with_awkward_attempts(store) -> None:
    built = data.build(store)
    with store.write():
        for k, extra in enumerate(
            [{"disposition": 'said "no"', "agent": "a,b"}, {"phone": "+44 20,7946", "talk_s": 2.0 / 3.0}]
        ):
            started = data.datetime(2026, 10, 5, 15, k, tzinfo=data.UTC)
            row = data.attempt_row(built, built.contacts[k], "renewal", 1, started, "answered", **extra)
            data._insert(store, "attempts", row)


@pytest.mark.parametrize("extra", [(), ("--unmask",), ("--campaign", "renewal")])
def test_json_lines_written_by_a_second_process_are_those_one_process_writes(
    cli, store, tmp_path, monkeypatch, extra
) -> None:
    from cctool import auditexport, auditjson

    _with_awkward_attempts(store)
    monkeypatch.setattr(auditexport, "_usable_cores", lambda: 2)
    here: list[int] = []  # the exporter writing attempts.jsonl itself after all (it must not)
    write = auditjson.write
    monkeypatch.setattr(auditjson, "write", lambda *args: (here.append(1), write(*args))[1])
    used: list[bool] = []  # a JSON writer process was running when attempts.csv was complete
    written = auditexport.Exporter.json_written
    monkeypatch.setattr(
        auditexport.Exporter,
        "json_written",
        lambda self, rows: (used.append(self.json_writer is not None), written(self, rows))[1],
    )
    parallel = _awkward_export(cli, store, tmp_path, monkeypatch, "parallel", *extra)
    assert here == [] and used == [True]
    monkeypatch.setattr(auditexport, "JSON_PROCESS", False)
    single = _awkward_export(cli, store, tmp_path, monkeypatch, "single", *extra)
    for name in ("attempts.jsonl", "attempts.csv"):
        assert (parallel / name).read_bytes() == (single / name).read_bytes(), name
    lines = (single / "attempts.jsonl").read_bytes().splitlines()
    assert len(lines) > 400 and len(lines) == len((single / "attempts.csv").read_bytes().splitlines()) - 1


def test_a_json_writer_that_dies_is_replaced_and_the_file_is_the_same(
    cli, store, tmp_path, monkeypatch
) -> None:
    from cctool import auditexport

    _with_awkward_attempts(store)
    monkeypatch.setattr(auditexport, "JSON_PROCESS", False)
    single = _awkward_export(cli, store, tmp_path, monkeypatch, "single")
    monkeypatch.setattr(auditexport, "JSON_PROCESS", True)
    monkeypatch.setattr(auditexport, "_usable_cores", lambda: 2)
    shared = auditexport.Exporter.share_snapshot

    def share_then_die(self) -> None:
        shared(self)
        assert self.json_writer is not None
        self.json_writer.kill()

    monkeypatch.setattr(auditexport.Exporter, "share_snapshot", share_then_die)
    replaced = _awkward_export(cli, store, tmp_path, monkeypatch, "replaced")
    assert (replaced / "attempts.jsonl").read_bytes() == (single / "attempts.jsonl").read_bytes()


def test_a_json_writer_that_never_starts_its_read_is_given_up_quickly(
    cli, store, tmp_path, monkeypatch
) -> None:
    """The write lock is held while the JSON writer starts its read: a writer that hangs must not hold
    off the dialer's writes for long; the exporter then writes the lines itself."""
    import subprocess
    import sys
    import time

    from cctool import auditexport

    _with_awkward_attempts(store)
    monkeypatch.setattr(auditexport, "JSON_PROCESS", False)
    single = _awkward_export(cli, store, tmp_path, monkeypatch, "single")
    monkeypatch.setattr(auditexport, "JSON_PROCESS", True)
    monkeypatch.setattr(auditexport, "_usable_cores", lambda: 2)
    monkeypatch.setattr(auditexport, "JSON_WRITER_READY_S", 0.5)

    def hanging_writer(self) -> None:
        self.json_writer = subprocess.Popen(
            [sys.executable, "-c", "print('loaded', flush=True); import time; time.sleep(60)"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    monkeypatch.setattr(auditexport.Exporter, "start_json_writer", hanging_writer)
    began = time.monotonic()
    replaced = _awkward_export(cli, store, tmp_path, monkeypatch, "replaced")
    assert time.monotonic() - began < 20
    assert (replaced / "attempts.jsonl").read_bytes() == (single / "attempts.jsonl").read_bytes()
