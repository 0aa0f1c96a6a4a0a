"""Figures for summary.json and the series for report.html's charts, from what the sections noted.

Nothing here reads the attempts again: the sections counted while streaming (`Exporter.facts`), and the
small files (opt-outs) are read back from the folder.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from statistics import median
from typing import Any

from .auditexport import Exporter

NATIONAL_NOTE = (
    "dnc_national_matches.csv re-matches attempts only against the newest national registry copy "
    "(the only one the database keeps); attempts checked against an older copy are counted in "
    "dnc_registry.csv but not re-matched."
)
ABANDON_NOTE = (
    "abandonment.csv windows include live answers from up to 29 days before the period; the independent "
    "re-check sees only the period's attempts, so its first windows can be shorter."
)


def attempts_per_day(summary: dict[str, Any], charts: dict[str, Any], x: Exporter) -> None:
    per_day: Counter[str] = x.facts.get("attempts_per_day", Counter())
    days: list[dict[str, Any]] = []
    day = x.request.start
    while day <= x.request.end:
        days.append({"day": day.isoformat(), "attempts": per_day.get(day.isoformat(), 0)})
        day += timedelta(days=1)
    charts["attempts_per_day"] = days
    outcomes: Counter[str] = x.facts.get("outcomes", Counter())
    reasons: Counter[str] = x.facts.get("blocked_reasons", Counter())
    summary["attempts"] = {
        "total": sum(outcomes.values()),
        "by_outcome": dict(sorted(outcomes.items())),
        "busiest_day": max(days, key=lambda d: d["attempts"]) if days else None,
    }
    summary["attempts_per_contact"] = {
        campaign: {
            "contacts": figures["contacts"],
            "mean": round(figures["attempts"] / figures["contacts"], 2),
            "max": figures["max"],
        }
        for campaign, figures in x.facts.get("attempts_per_contact", {}).items()
    }
    summary["blocked"] = {"total": x.counts.get("blocked", 0), "by_reason": dict(reasons.most_common())}


def abandonment(summary: dict[str, Any], charts: dict[str, Any], x: Exporter) -> None:
    by_campaign: dict[str, list[dict[str, Any]]] = {}
    for window in x.facts.get("abandonment", []):
        by_campaign.setdefault(window["campaign"], []).append(window)
    series, figures = [], {}
    for name, windows in by_campaign.items():
        first = windows[0]
        series.append({"campaign": name, "window": first["window"], "cap": first["cap"], "windows": windows})
        worst = max(windows, key=lambda w: w["rate"])
        figures[name] = {
            "window": first["window"],
            "cap": first["cap"],
            "formula": "abandoned / live answers (answered + abandoned)",
            "windows": len(windows),
            "windows_failed": sum(w["result"] == "fail" for w in windows),
            "worst_rate": worst["rate"],
            "worst_window_end": worst["window_end"],
        }
    charts["abandonment"] = series
    summary["abandonment"] = figures


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")[:2]
    return int(hours) * 60 + int(minutes)


def local_hours(summary: dict[str, Any], charts: dict[str, Any], x: Exporter) -> None:
    """Calls by the called party's local hour; an hour is 'allowed' when every campaign's window holds it."""
    counted: Counter[str] = x.facts.get("local_hours", Counter())
    windows = [(_minutes(c["hours_start"]), _minutes(c["hours_end"])) for c in x.facts.get("campaigns", [])]
    hours = list(range(24))
    charts["local_hours"] = {
        "hours": hours,
        "counts": [counted.get(f"{h:02d}", 0) for h in hours],
        "allowed": [all(start <= h * 60 and (h + 1) * 60 <= end for start, end in windows) for h in hours],
    }


def optouts(summary: dict[str, Any], charts: dict[str, Any], x: Exporter) -> None:
    """Opt-outs received in the period and the seconds each took to take effect."""
    path = x.request.out / "optouts.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        received = [
            row for row in csv.DictReader(handle) if x.request.since <= row["requested_at"] < x.request.until
        ]
    charts["optouts"] = [
        {
            "received": row["requested_at"],
            "effective": row["effective_at"],
            "channel": row["channel"],
            "latency_s": float(row["latency_s"]),
        }
        for row in received
    ]
    latencies = [o["latency_s"] for o in charts["optouts"]]
    summary["optouts"] = {
        "received": len(latencies),
        "median_latency_s": median(latencies) if latencies else None,
        "max_latency_s": max(latencies) if latencies else None,
    }


def verdict(summary: dict[str, Any], charts: dict[str, Any], x: Exporter) -> None:
    summary["violations_by_rule"] = dict(Counter(v["rule"] for v in summary["violations"]).most_common())
    summary["notes"] = [NATIONAL_NOTE, ABANDON_NOTE]


SUMMARISERS: list[Callable[[dict[str, Any], dict[str, Any], Exporter], None]] = [
    attempts_per_day,
    abandonment,
    local_hours,
    optouts,
    verdict,
]
