"""CSV lines written by SQLite, byte for byte what `csv.writer` would write, for the export's big table.

A million attempts of thirty-odd fields cost seconds in Python (a tuple per row, a conversion and a
quoting check per field); SQLite's printf() joins a row's fields into one text in C. Each cell must be
what csv.writer writes for the value Python would receive: text as is, NULL as empty, an integer in
decimal, a REAL as `repr(float)`. printf's %s does all that but for a REAL, which SQLite prints with 15
significant digits: `repr` only when that text reads back as the same double and needs no exponent.
`real_cell` checks that (cheaply for values with at most three decimals, the dialer's rounding) and
sends any other value, and any blob, to Python (`_py_cell`).

Quoting is left to the caller: a line holding a quote, a line break or more commas than
separators has a field csv.writer would quote, and is written again by csv.writer from the row's values.
"""

from __future__ import annotations

import sqlite3
from typing import Any

CELL_FUNCTION = "cctool_csv_cell"


def _py_cell(value: Any) -> str:
    """The text csv.writer writes for a value (before quoting)."""
    return "" if value is None else value if isinstance(value, str) else str(value)


def install(conn: sqlite3.Connection) -> bool:
    """Register `_py_cell` on the connection; False when this SQLite's REAL text is not what
    `real_cell` expects (then every REAL goes through Python)."""
    conn.create_function(CELL_FUNCTION, 1, _py_cell, deterministic=True)
    samples = [0.1, 0.3, 12.0, 95.0, 123.456, -2.5, 0.0001, 99999999999.999, 0.1 + 0.7, 1e15, 2.0 / 3.0]
    cells = [real_cell(f"CAST(?{i} AS REAL)") for i in range(1, len(samples) + 1)]
    found = conn.execute(f"SELECT {line(cells)}", samples).fetchone()[0]
    return bool(found == ",".join(repr(v) for v in samples))


def line(cells: list[str], before: str = "", after: str = "") -> str:
    """SQL joining the cells with commas into one text (printf's %s writes NULL as nothing)."""
    return f"printf('{before}{','.join(['%s'] * len(cells))}{after}', {', '.join(cells)})"


def text_cell(expr: str) -> str:
    """A TEXT column (it holds text, NULL or a blob: SQLite stores numbers given to it as text)."""
    return f"CASE WHEN {expr} >= x'' THEN {CELL_FUNCTION}({expr}) ELSE {expr} END"  # (iif() needs 3.32)


def integer_cell(expr: str) -> str:
    """An INTEGER column. SQLite keeps a REAL in it only when it is not a whole number of 64 bits, so a
    value equal to itself cast to an integer is an integer (or NULL); text and blobs are not."""
    return (
        f"CASE WHEN {expr} = CAST({expr} AS INTEGER) THEN {expr} WHEN {expr} IS NULL THEN NULL "
        f"ELSE {CELL_FUNCTION}({expr}) END"
    )


def real_cell(expr: str, sql_prints_reals: bool = True) -> str:
    """A REAL column or expression.

    First tier: |x| < 1e12 and x is the double nearest to n/1000 for an integer n (at most three
    decimals, as the dialer rounds): its shortest text has at most 15 digits and no exponent, and
    SQLite's 15-digit text is that. Second tier: 1e-4 <= |x| < 1e14 and the 15-digit text reads back as
    x. NULL prints as nothing. Else (16-17 digits, exponents, text or blob values): Python.
    """
    if not sql_prints_reals:
        return f"{CELL_FUNCTION}({expr})"
    return (
        f"CASE WHEN {expr} < 1e12 AND {expr} > -1e12 AND CAST({expr} * 1000 AS INTEGER) / 1000.0 = {expr} "
        f"THEN {expr} "
        f"WHEN {expr} < 1e14 AND {expr} > -1e14 AND ({expr} >= 1e-4 OR {expr} <= -1e-4) "
        f"AND CAST(CAST({expr} AS TEXT) AS REAL) = {expr} THEN {expr} "
        f"WHEN {expr} IS NULL THEN NULL ELSE {CELL_FUNCTION}({expr}) END"
    )
