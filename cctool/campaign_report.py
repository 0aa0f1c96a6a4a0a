"""`report campaign`: the KPIs a call-center lead reads, from the attempts and the runs' logged-in time.

attempts, connects (live answers put through to an agent), connect rate (connects / attempts), conversion
(success dispositions / connects), AHT (talk + wrap per connect), occupancy ((talk + wrap) / logged-in
time), abandonment (abandoned / live answers) per day and over the whole range, calls per agent-hour and
attempts per contact. By hour of day: abandonment and occupancy, for the small terminal charts.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import Any

from . import campaign_store
from .timeutil import from_iso, to_iso

BARS = " ▁▂▃▄▅▆▇█"
NO_DATA = "·"  # an hour without calls: not the blank of a 0 % hour


def _range(since: date | None, until: date | None) -> tuple[str, str]:
    lo = datetime.combine(since, datetime.min.time(), UTC) if since else datetime(1970, 1, 1, tzinfo=UTC)
    hi = (
        datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC)
        if until and until < date.max  # the day after 9999-12-31 is past what a date can hold
        else datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    )
    return to_iso(lo), to_iso(hi)


def _logged_in(conn: sqlite3.Connection, name: str, lo: str, hi: str) -> dict[int, float]:
    """Agent-seconds logged in and available, by UTC hour of day, from the runs' simulated (or real) spans.

    A run records its agent-seconds as the engine counts them (its agents' breaks and the drain of the
    calls still up at its end left out); spread over the run's span, each hour of it gets its share.
    Runs without that figure (interrupted ones) count agents x span. A run with no end (still dialing, or
    killed and never finished) spans up to its last dial, so its calls never count as work without
    its agents' time."""
    by_hour: dict[int, float] = {}
    lo_t, hi_t = from_iso(lo), from_iso(hi)
    for agents, start, end, logged in conn.execute(
        "SELECT r.agents, r.sim_start, coalesce(r.sim_end, (SELECT max(a.started_at) FROM attempts a "
        "WHERE a.campaign = r.campaign AND a.run_id = r.id)), r.logged_in_s "
        "FROM dial_runs r WHERE r.campaign = ? AND r.sim_start IS NOT NULL",
        (name,),
    ):
        if end is None:
            continue  # no end and no attempt: nothing to count
        first, last = from_iso(start), from_iso(end)
        span = (last - first).total_seconds()
        rate = logged / span if logged is not None and span > 0 else float(agents)  # agents available
        t, stop = max(first, lo_t), min(last, hi_t)
        while t < stop:
            nxt = min(t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1), stop)
            by_hour[t.hour] = by_hour.get(t.hour, 0.0) + rate * (nxt - t).total_seconds()
            t = nxt
    return by_hour


def campaign_kpis(
    conn: sqlite3.Connection, name: str, since: date | None = None, until: date | None = None
) -> dict[str, Any]:
    """Every KPI of the campaign over [since, until] (UTC dates, inclusive)."""
    campaign = campaign_store.get(conn, name)
    success = tuple(campaign.definition.get("success_dispositions") or ["sale"])
    lo, hi = _range(since, until)
    where = "campaign = ? AND started_at >= ? AND started_at < ?"
    args = (name, lo, hi)
    row = conn.execute(
        "SELECT count(*), count(DISTINCT contact_id), "
        "coalesce(sum(outcome = 'answered' AND agent IS NOT NULL), 0), "
        "coalesce(sum(outcome IN ('answered', 'abandoned')), 0), coalesce(sum(abandoned), 0), "
        "coalesce(sum(coalesce(talk_s, 0)), 0), coalesce(sum(coalesce(wrap_s, 0)), 0), "
        f"coalesce(sum(disposition IN ({', '.join('?' * len(success))})), 0), "
        "coalesce(sum(safe_harbour), 0), avg(connect_delay_s) "
        f"FROM attempts WHERE {where}",
        (*success, *args),
    ).fetchone()
    attempts, contacts, connects, live, abandoned, talk, wrap, sales, safe_harbour, delay = row
    by_hour_logged = _logged_in(conn, name, lo, hi)
    logged = sum(by_hour_logged.values())
    hours: list[dict[str, Any]] = []
    per_hour = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT cast(substr(started_at, 12, 2) AS INTEGER) h, "
            "coalesce(sum(outcome IN ('answered', 'abandoned')), 0), coalesce(sum(abandoned), 0), "
            "coalesce(sum(coalesce(talk_s, 0) + coalesce(wrap_s, 0)), 0), count(*) "
            f"FROM attempts WHERE {where} GROUP BY h",
            args,
        )
    }
    for hour in sorted(set(per_hour) | set(by_hour_logged)):
        h_live, h_ab, h_work, h_attempts = per_hour.get(hour, (0, 0, 0.0, 0))
        h_logged = by_hour_logged.get(hour, 0.0)
        hours.append(
            {
                "hour_utc": hour,
                "attempts": h_attempts,
                "abandon_rate": round(h_ab / h_live, 5) if h_live else 0.0,
                "occupancy": round(min(h_work / h_logged, 1.0), 5) if h_logged else None,
            }
        )
    days = [
        {"day": d, "live_answers": n, "abandoned": a, "abandon_rate": round(a / n, 5) if n else 0.0}
        for d, n, a in conn.execute(
            "SELECT substr(started_at, 1, 10) d, coalesce(sum(outcome IN ('answered', 'abandoned')), 0), "
            f"coalesce(sum(abandoned), 0) FROM attempts WHERE {where} GROUP BY d ORDER BY d",
            args,
        )
    ]
    return {
        "campaign": name,
        "from": since.isoformat() if since else None,
        "to": until.isoformat() if until else None,
        "attempts": attempts,
        "contacts": contacts,
        "connects": connects,
        "connect_rate": round(connects / attempts, 5) if attempts else 0.0,
        "conversions": sales,
        "conversion": round(sales / connects, 5) if connects else 0.0,
        "success_dispositions": list(success),
        "aht_s": round((talk + wrap) / connects, 1) if connects else 0.0,
        "talk_s_avg": round(talk / connects, 1) if connects else 0.0,
        "logged_in_hours": round(logged / 3600, 2),
        "occupancy": round((talk + wrap) / logged, 5) if logged else None,
        "abandonment": {
            "live_answers": live,
            "abandoned": abandoned,
            "rate": round(abandoned / live, 5) if live else 0.0,
            "cap": campaign.abandon_cap,
            "window": campaign.abandon_window,
            "safe_harbour_played": safe_harbour,
            "formula": "abandoned / live answers (answered + abandoned)",
            "by_day": days,
        },
        "avg_connect_delay_s": round(delay, 3) if delay is not None else None,
        "calls_per_agent_hour": round(attempts / (logged / 3600), 2) if logged else None,
        "connects_per_agent_hour": round(connects / (logged / 3600), 2) if logged else None,
        "attempts_per_contact": round(attempts / contacts, 3) if contacts else 0.0,
        "by_hour": hours,
    }


def spark(values: list[float | None], top: float) -> str:
    """One character per value, scaled to `top` (blank for 0, a dot for no data)."""
    out = []
    for v in values:
        if v is None:
            out.append(NO_DATA)
            continue
        level = 0 if top <= 0 else round(min(v / top, 1.0) * (len(BARS) - 1))
        out.append(BARS[max(level, 1 if v > 0 else 0)])
    return "".join(out)


def hour_axis(hours: list[int]) -> list[int]:
    """The hours of day (UTC) a chart shows, in the order the day ran: from the hour after the longest
    stretch without data, so a shift across midnight UTC reads 17..23, 0..4 (not 0..4 then 17..23, where
    17 would pass for 7), and an hour without data inside the span keeps its column."""
    present = sorted(set(hours))
    if len(present) < 2:
        return present
    n = len(present)
    _, last_i = max(((present[(i + 1) % n] - present[i]) % 24 or 24, i) for i in range(n))
    first, last = present[(last_i + 1) % n], present[last_i]
    return [(first + k) % 24 for k in range((last - first) % 24 + 1)]


def chart_lines(report: dict[str, Any], width: int | None = None) -> list[str]:
    """Small terminal charts of abandonment and occupancy by hour (UTC).

    `width`: the terminal's; a chart that would not fit beside its name goes on the line below it, so
    the terminal never folds a row of bars (they hold spaces, where a wrap would cut them)."""
    hours = report["by_hour"]
    if not hours:
        return []
    by_hour = {h["hour_utc"]: h for h in hours}
    axis = hour_axis(list(by_hour))
    abandonment = report["abandonment"]
    cap = abandonment["cap"] or 0.03
    # the cap is on the window's count, not on an hour's: say both, so a busy hour is not read as a breach
    window = "30 days" if abandonment["window"] == "30d" else abandonment["window"] or "30 days"
    labels = "".join(str(h % 10) for h in axis)

    def series(key: str) -> list[float | None]:
        return [by_hour[h][key] if h in by_hour else None for h in axis]

    labels_row = [
        (f"hour (UTC, from {axis[0]:02d}h)", labels, f"{NO_DATA} no calls" if len(axis) > len(hours) else ""),
        (f"abandonment (0..{cap:.0%})", spark(series("abandon_rate"), cap),
         f"max {max(h['abandon_rate'] for h in hours):.2%} in an hour; {abandonment['rate']:.2%} in the "
         f"period (the cap, {cap:.0%}, is per {window})"),
        ("occupancy (0..100%)", spark(series("occupancy"), 1.0),
         f"min {min((h['occupancy'] for h in hours if h['occupancy'] is not None), default=0):.1%}"),
    ]  # fmt: skip
    name_w = max(len(name) for name, _, _ in labels_row) + 1
    if width is None or name_w + len(labels) <= width:
        return [f"{name:<{name_w}}{bars}  {note}".rstrip() for name, bars, note in labels_row]
    out = []
    for name, bars, note in labels_row:
        out += [name, f"  {bars}"] + ([f"  {note}"] if note else [])
    return out
