"""The audit export's dialing sections: attempts, refusals, campaigns, abandonment, registry copies.

Each section streams one table of the period (and `--campaign`) to the export folder. While streaming,
`attempts` counts what the later sections and the charts need (versions used, attempts per registry
version, day, local hour, outcome, and per number) into `Exporter.facts`, so the big table is read
once; SQLite sums the live answers of the days before the period for whole abandonment windows.
The service sections (tickets, callbacks) are in `auditservice.py`, the figures in `auditsummary.py`.
"""

from __future__ import annotations

import csv
import gc
import io
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from . import auditjson, auditlines
from .auditexport import Exporter
from .auditfields import ATTEMPT_COLUMNS, ATTEMPT_FIELDS, ATTEMPTS_FROM, JSON_OBJECT, SELECTED, attempts_sql
from .auditservice import callbacks, ticket_events, tickets
from .timeutil import to_iso

LIVE_OUTCOMES = {"answered", "abandoned"}  # live answers: the denominator of the abandonment rate


_INTEGER_FIELDS = {
    "attempt_id",
    "campaign_version",
    "abandoned",
    "safe_harbour",
    "callback_requested",
    "sip_code",
}
_REAL_FIELDS = {"duration_s", "ring_s", "talk_s", "connect_delay_s"}
# What the figures count per attempt (campaign, UTC day, registry version, local hour, outcome), as one
# JSON text: one dictionary key per row instead of a tuple built in Python.
_TALLY_KEY = (
    "json_array(a.campaign, substr(a.started_at, 1, 10), coalesce(a.registry_version, ''), "
    "substr(coalesce(a.local_time, ''), 12, 2), a.outcome)"
)
_PLAIN_NUMBER = frozenset("+0123456789* ")  # a (masked) number needing no CSV quoting nor JSON escape
_JSON_REF = '","phone_ref":"'


def _cell(name: str, expr: str, sql_prints_reals: bool) -> str:
    if name in _INTEGER_FIELDS:
        return auditlines.integer_cell(expr)
    if name in _REAL_FIELDS:
        return auditlines.real_cell(expr, sql_prints_reals)
    return auditlines.text_cell(expr)


def attempts(x: Exporter) -> None:
    """One row per attempt with the record-keeping fields (TSR 16 CFR 310.5 and COMPLIANCE.md).

    SQLite joins the campaign version and registry date, writes each row's CSV line but for the number
    (`auditlines`) and encodes its JSON line (in C, several times faster than Python); Python masks each
    number once, puts it in both lines and counts the figures. A line SQLite cannot render exactly as
    csv.writer would (a field to quote, an odd value) is written by csv.writer from the row's values.
    The JSON lines are written by a second process when one shares this export's snapshot (`auditjson`).
    """
    where, params = x.campaign_filter("a.campaign")
    conn = x.store.conn
    sql_prints_reals = auditlines.install(conn)
    cut = ATTEMPT_COLUMNS.index("phone")
    head = auditlines.line([_cell(n, e, sql_prints_reals) for n, e in ATTEMPT_FIELDS[:cut] if e], after=",")
    tail = auditlines.line(
        [_cell(n, e, sql_prints_reals) for n, e in ATTEMPT_FIELDS[cut + 2 :] if e], before=","
    )
    json_elsewhere = x.json_elsewhere()
    want_json = "json" in x.request.formats and not json_elsewhere
    cursor = conn.execute(
        attempts_sql(
            f"a.phone, a.campaign, a.started_at, {_TALLY_KEY}, {head}, {tail}, "
            + (JSON_OBJECT if want_json else "NULL"),
            x.request.campaign is not None,
        ),
        [x.request.since, x.request.until, *params],
    )
    phone, ref = x.phone, x.ref
    commas = len(ATTEMPT_COLUMNS) - 1
    # campaign, UTC day, registry version, local hour, outcome (as JSON) -> attempts: counted while
    # streaming, cheaper than a second pass that SQLite would have to sort.
    tally: dict[str, int] = {}
    # campaign -> number -> [attempts, first, last, middle]; rows come in time order. `middle` is the
    # line's "masked number,reference" (one text: kept for 100,000s of numbers), or None when the masked
    # number is not plain (then both are worked out again for each of its rows, a rare case). Freed once
    # written, so it stays below the checker's own per-number record in peak memory.
    per_contact: dict[str, dict[str, list[Any]]] = {}
    exact = _ExactLines(x, SELECTED)
    written = 0

    def chunks(put_csv: Callable[[str], object], put_json: Callable[[str], object] | None) -> None:
        """The lines, joined in batches of 2048 rows (CSV lines end in CR LF, as csv.writer's do)."""
        nonlocal written
        csv_lines: list[str] = []
        json_lines: list[str] = []
        add_csv, add_json = csv_lines.append, json_lines.append
        get_campaign, get_count = per_contact.get, tally.get
        for number, campaign, started, key, before, after, json_object in cursor:
            numbers = get_campaign(campaign) or per_contact.setdefault(campaign, {})
            seen = numbers.get(number)
            if seen is None:
                # masked once per number, kept with the count
                masked = phone(number)
                middle = f"{masked},{ref(number)}" if _PLAIN_NUMBER.issuperset(masked) else None
                seen = numbers[number] = [1, started, started, middle]
            else:
                seen[0] += 1
                seen[2] = started
                middle = seen[3]
            tally[key] = get_count(key, 0) + 1
            # no field to quote: a plain number, no quote, no line break, no comma but the separators
            if (
                middle is not None
                and (line := f"{before}{middle}{after}").count(",") == commas
                and '"' not in line
                and "\n" not in line
                and "\r" not in line
            ):
                add_csv(line)
                if json_object is not None:  # the line's start (a plain number has no comma), then
                    # SQLite's object without its opening brace (cheaper sliced here than by substr())
                    add_json(f'{{"phone":"{middle.replace(",", _JSON_REF)}",{json_object[1:]}\n')
            else:
                masked, reference = phone(number), ref(number)
                add_csv(exact.csv_line(before, masked, reference))
                if json_object is not None:
                    add_json(f"{auditjson.json_head(masked, reference)}{json_object[1:]}\n")
            if len(csv_lines) >= 2048:
                written += len(csv_lines)
                put_csv("\r\n".join(csv_lines) + "\r\n")
                csv_lines.clear()
                if put_json is not None:
                    put_json("".join(json_lines))
                    json_lines.clear()
        if csv_lines:
            written += len(csv_lines)
            put_csv("\r\n".join(csv_lines) + "\r\n")
        if json_lines and put_json is not None:
            put_json("".join(json_lines))

    (x.request.out / "attempts.csv").touch()  # for the checker to follow from its first line
    x.checker_go()
    collecting = gc.isenabled()
    gc.disable()  # a row tuple each: the collector would run every few hundred rows and find no cycle
    try:
        x.table_lines("attempts", ATTEMPT_COLUMNS, chunks, lambda: written, jsonl=want_json)
    finally:
        if collecting:
            gc.enable()
    x.attempts_written()
    if json_elsewhere:
        x.json_written(written)
    _note_attempt_figures(x, tally, where, params)
    x.facts["per_contact"] = per_contact


class _ExactLines:
    """The few lines SQLite cannot write as csv.writer would (a field to quote, an unusual value, a number
    with characters to escape): read again by id, in the same read transaction, and written by csv.writer."""

    def __init__(self, x: Exporter, selected: list[tuple[str, str]]):
        self.conn = x.store.conn
        self.sql = f"SELECT {', '.join(expr for _, expr in selected)} {ATTEMPTS_FROM}WHERE a.id = ?"
        self.cut = ATTEMPT_COLUMNS.index("phone")
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def csv_line(self, before: str, masked: str, reference: str) -> str:
        """`before`: the line SQLite wrote up to the number, starting with the attempt's id."""
        values = self.conn.execute(self.sql, (int(before[: before.index(",")]),)).fetchone()
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerow((*values[: self.cut], masked, reference, *values[self.cut :]))
        return self.buffer.getvalue()[:-2]  # without csv.writer's line end (the batch adds it)


def _note_attempt_figures(x: Exporter, tally: dict[str, int], where: str, params: list[Any]) -> None:
    """Versions used, attempts per registry version, UTC day, local hour and outcome in the period, and
    live answers and abandoned calls per campaign and UTC day from 29 days before it (SQLite sums the
    days before the period, so that a 30-day abandonment window at the start of the period is whole)."""
    per_registry: Counter[str] = Counter()
    local_hours: Counter[str] = Counter()
    per_day: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    live: Counter[tuple[str, str]] = Counter()
    abandoned: Counter[tuple[str, str]] = Counter()
    for key, count in tally.items():
        campaign, day, registry, hour, outcome = json.loads(key)
        if outcome in LIVE_OUTCOMES:
            live[(campaign, day)] += count
            abandoned[(campaign, day)] += count if outcome == "abandoned" else 0
        per_registry[registry] += count
        local_hours[hour] += count
        per_day[day] += count
        outcomes[outcome] += count
    lookback = to_iso(datetime.combine(x.request.start - timedelta(days=29), time(0), UTC))
    for campaign, day, abandoned_calls, live_answers in x.store.conn.execute(
        "SELECT campaign, substr(started_at, 1, 10), sum(outcome = 'abandoned'), count(*) FROM attempts a "
        f"WHERE started_at >= ? AND started_at < ? AND outcome IN ('answered', 'abandoned'){where} "
        "GROUP BY 1, 2",
        [lookback, x.request.since, *params],
    ):
        live[(campaign, day)] += live_answers
        abandoned[(campaign, day)] += abandoned_calls
    x.facts.update(
        attempts_per_registry=per_registry,
        local_hours=local_hours,
        attempts_per_day=per_day,
        outcomes=outcomes,
        live_per_day=live,
        abandoned_per_day=abandoned,
    )


def blocked(x: Exporter) -> None:
    """Every dial the decision refused, with all its reasons."""
    where, params = x.campaign_filter()
    rows = x.query(
        f"SELECT * FROM blocked_dials WHERE at >= ? AND at < ?{where} ORDER BY at, id",
        [x.request.since, x.request.until, *params],
    )
    reasons: Counter[str] = Counter()

    def out() -> Any:
        for r in rows:
            reasons.update(reason for reason in r["reasons"].split(";") if reason)
            yield [
                r["id"],
                r["campaign"],
                r["campaign_version"],
                x.phone(r["phone"]),
                x.ref(r["phone"]),
                r["at"],
                r["reasons"],
                r["next_allowed_at"],
                r["run_id"],
            ]

    x.table(
        "blocked",
        [
            "blocked_id",
            "campaign",
            "campaign_version",
            "phone",
            "phone_ref",
            "at",
            "reasons",
            "next_allowed_at",
            "run_id",
        ],
        out(),
    )
    x.facts["blocked_reasons"] = reasons


CAMPAIGN_COLUMNS = [
    "campaign",
    "version",
    "kind",
    "policy",
    "hours_start",
    "hours_end",
    "days",
    "cap_per_day",
    "cap_24h",
    "cap_total",
    "min_gap_s",
    "abandon_cap",
    "abandon_window",
    "abandon_lock_s",
    "registry_max_age_s",
    "dial_mode",
    "seller",
    "purpose",
    "caller_id",
    "script",
    "script_sha256",
    "sha256",
    "file_name",
    "loaded_at",
    "actor",
]


def _versions_used(x: Exporter) -> set[tuple[str, int]]:
    """The campaign versions the period's attempts and refusals ran under (before attempts.csv is written:
    the checker reads campaigns.csv first)."""
    where, params = x.campaign_filter()
    conn = x.store.conn
    in_period = conn.execute(
        "SELECT count(*) FROM attempts WHERE started_at >= ? AND started_at < ?",
        [x.request.since, x.request.until],
    ).fetchone()[0]
    # When the period holds much of the table, reading the table in its own order beats following the
    # time index (a row lookup per attempt, in random order when rows were not written in time order).
    scan = (
        " NOT INDEXED" if in_period * 4 >= conn.execute("SELECT count(*) FROM attempts").fetchone()[0] else ""
    )
    found = conn.execute(
        f"SELECT DISTINCT campaign, campaign_version FROM attempts{scan} WHERE started_at >= ? AND started_at < ?"
        f"{where} UNION SELECT DISTINCT campaign, campaign_version FROM blocked_dials WHERE at >= ? AND at < ?"
        f"{where}",
        [x.request.since, x.request.until, *params, x.request.since, x.request.until, *params],
    )
    return {(name, version) for name, version in found}


def campaigns(x: Exporter) -> None:
    """Every campaign version an attempt or a refusal of the period ran under, with its effective figures."""
    used = sorted(_versions_used(x))
    found: list[dict[str, Any]] = []
    for name, version in used:
        row = x.store.conn.execute(
            f"SELECT {', '.join(CAMPAIGN_COLUMNS)} FROM campaign_versions WHERE campaign = ? AND version = ?",
            (name, version),
        ).fetchone()
        if row is not None:
            found.append(dict(zip(CAMPAIGN_COLUMNS, row)))
    x.table("campaigns", CAMPAIGN_COLUMNS, ([r[c] for c in CAMPAIGN_COLUMNS] for r in found))
    x.facts["campaigns"] = found


def overrides(x: Exporter) -> None:
    """Every rule a campaign loosened against its preset, with the reason, up to the end of the period."""
    where, params = x.campaign_filter()
    columns = ["id", "campaign", "version", "rule", "preset_value", "value", "reason", "recorded_at", "actor"]
    rows = x.query(
        f"SELECT {', '.join(columns)} FROM campaign_overrides WHERE recorded_at < ?{where} "
        "ORDER BY recorded_at, id",
        [x.request.until, *params],
    )
    x.table(
        "overrides",
        ["override_id", *columns[1:]],
        ([r[c] for c in columns[:6]] + [x.text(r["reason"]), r["recorded_at"], r["actor"]] for r in rows),
    )


def _latest_versions(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for row in found:
        if row["campaign"] not in latest or row["version"] > latest[row["campaign"]]["version"]:
            latest[row["campaign"]] = row
    return latest


def abandonment(x: Exporter) -> None:
    """Abandoned calls over live answers per campaign and policy window ('day', or 30 days ending each day).

    SQLite sums per UTC day (`_note_attempt_figures`, from 29 days before the period, so that a 30-day
    window at the start of the period is whole); the windows are then slid over those daily figures.
    """
    latest = _latest_versions(x.facts.get("campaigns", []))
    live: Counter[tuple[str, str]] = x.facts.get("live_per_day", Counter())
    abandoned: Counter[tuple[str, str]] = x.facts.get("abandoned_per_day", Counter())
    daily: dict[str, dict[date, tuple[int, int]]] = {}
    for (name, utc_day), count in live.items():
        daily.setdefault(name, {})[date.fromisoformat(utc_day)] = (abandoned[(name, utc_day)], count)
    windows: list[dict[str, Any]] = []
    for name in sorted(daily):
        campaign = latest.get(name)
        if campaign is None:
            continue  # live answers only before the period: no version of this campaign in the export
        span = 1 if campaign["abandon_window"] == "day" else 30
        cap = float(campaign["abandon_cap"])
        day = x.request.start
        while day <= x.request.end:
            days = [day - timedelta(days=k) for k in range(span)]
            a = sum(daily[name].get(d, (0, 0))[0] for d in days)
            n = sum(daily[name].get(d, (0, 0))[1] for d in days)
            if n:
                windows.append(
                    {
                        "campaign": name,
                        "window": campaign["abandon_window"],
                        "window_start": days[-1].isoformat(),
                        "window_end": day.isoformat(),
                        "abandoned": a,
                        "live_answers": n,
                        "rate": round(a / n, 6),
                        "cap": cap,
                        "result": "pass" if a / n <= cap else "fail",
                    }
                )
            day += timedelta(days=1)
    columns = [
        "campaign",
        "window",
        "window_start",
        "window_end",
        "abandoned",
        "live_answers",
        "rate",
        "cap",
        "result",
    ]
    x.table("abandonment", columns, ([w[c] for c in columns] for w in windows))
    x.facts["abandonment"] = windows


def contact_attempts(x: Exporter) -> None:
    """Attempts per contact and campaign in the period, beside the caps of the campaign's latest version."""
    latest = _latest_versions(x.facts.get("campaigns", []))
    counted: dict[str, dict[str, list[Any]]] = x.facts.pop("per_contact", {})
    per_campaign: dict[str, dict[str, Any]] = {}

    def out() -> Any:
        for campaign in sorted(counted):
            numbers = counted[campaign]
            figures = per_campaign[campaign] = {"contacts": 0, "attempts": 0, "max": 0}
            caps = latest.get(campaign, {})
            limits = (
                caps.get("cap_per_day"),
                caps.get("cap_24h"),
                caps.get("cap_total"),
                caps.get("min_gap_s"),
            )
            # only the numbers are sorted (no new row per contact: this runs at the export's peak of memory)
            for number in sorted(numbers, key=lambda n: -numbers[n][0]):
                count, first, last, middle = numbers[number]
                if middle is None:
                    masked, reference = x.phone(number), x.ref(number)
                else:
                    masked, _comma, reference = middle.rpartition(",")
                figures["contacts"] += 1
                figures["attempts"] += count
                figures["max"] = max(figures["max"], count)
                yield (campaign, masked, reference, count, first, last, *limits)

    x.table(
        "contact_attempts",
        [
            "campaign",
            "phone",
            "phone_ref",
            "attempts",
            "first_attempt",
            "last_attempt",
            "cap_per_day",
            "cap_24h",
            "cap_total",
            "min_gap_s",
        ],
        out(),
    )
    x.facts["attempts_per_contact"] = per_campaign


def dnc_registry(x: Exporter) -> None:
    """Each load of a national registry copy, and how many attempts of the period were checked against it."""
    checked: Counter[str] = x.facts.get("attempts_per_registry", Counter())
    rows = list(
        x.query(
            "SELECT id, list, version, registry_date, loaded_at, count, sha256, file_name, actor "
            "FROM dnc_registry_loads WHERE loaded_at < ? ORDER BY loaded_at, id",
            [x.request.until],
        )
    )
    current = rows[-1]["id"] if rows else None
    x.table(
        "dnc_registry",
        [
            "load_id",
            "list",
            "version",
            "registry_date",
            "loaded_at",
            "count",
            "sha256",
            "file_name",
            "actor",
            "attempts_checked",
            "matches_exported",
        ],
        ([*r.values(), checked.get(r["version"], 0), "yes" if r["id"] == current else "no"] for r in rows),
    )
    x.facts["current_registry"] = rows[-1]["version"] if rows else None
    x.facts["current_registry_count"] = rows[-1]["count"] if rows else 0


def dnc_national_matches(x: Exporter) -> None:
    """Attempted numbers found on the national registry copy their attempt was checked against.

    `dnc_national` holds only the newest copy, so matches are exact for attempts checked against that
    copy; attempts checked against an older copy cannot be re-matched (dnc_registry.csv says which).
    """
    current = x.store.conn.execute(
        "SELECT version, count FROM dnc_registry_loads WHERE loaded_at < ? ORDER BY loaded_at DESC, id DESC "
        "LIMIT 1",
        [x.request.until],
    ).fetchone()
    version, listed = current if current else (None, 0)
    where, params = x.campaign_filter("a.campaign")
    in_period = "a.started_at >= ? AND a.started_at < ? AND a.registry_version = ?"
    # Walk the smaller side: the registry copy (seeking each number's attempts by the phone index), or
    # the period's attempts (looking each number up in the copy).
    attempted = x.store.conn.execute(
        f"SELECT count(*) FROM attempts a WHERE a.started_at >= ? AND a.started_at < ?{where}",
        [x.request.since, x.request.until, *params],
    ).fetchone()[0]
    sql = (
        "SELECT n.phone FROM dnc_national n WHERE EXISTS (SELECT 1 FROM attempts a INDEXED BY "
        f"attempts_phone WHERE a.phone = n.phone AND {in_period}{where}) ORDER BY 1"
        if listed < attempted
        else "SELECT DISTINCT a.phone FROM attempts a JOIN dnc_national n ON n.phone = a.phone "
        f"WHERE {in_period}{where} ORDER BY 1"
    )
    rows: Any = (
        x.store.conn.execute(sql, [x.request.since, x.request.until, version, *params]) if version else []
    )
    x.table(
        "dnc_national_matches",
        ["phone", "phone_ref", "registry_version"],
        ([x.phone(phone), x.ref(phone), version] for (phone,) in rows),
    )


# The files the checker reads beside attempts.csv come first, so that it can run while attempts.csv is
# being written (`Exporter.start_checker`).
SECTIONS: list[Callable[[Exporter], None]] = [
    campaigns,
    dnc_national_matches,
    attempts,
    blocked,
    overrides,
    abandonment,
    contact_attempts,
    dnc_registry,
    tickets,
    ticket_events,
    callbacks,
]
