"""The auditor's independent re-check: violations computed from the exported rows alone.

This module deliberately shares no code with `cctool.compliance` (the dialer's decision): it reads the
CSV files of an export folder, recomputes local times with zoneinfo, and applies the rules as an
auditor would read them. If the dialer's decision had a bug, the two would disagree and the export
says so. For data cctool produced, the result must be empty.
"""

from __future__ import annotations

import csv
from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LIVE_OUTCOMES = {"answered", "abandoned"}
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _read(folder: Path, name: str) -> Iterator[dict[str, str]]:
    path = folder / name
    if not path.exists():
        return
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _clock(text: str) -> time:
    hours, minutes = text.split(":")[:2]
    return time(int(hours), int(minutes))


def _violation(rule: str, row: dict[str, str], detail: str) -> dict[str, Any]:
    return {
        "rule": rule,
        "attempt_id": row.get("attempt_id", ""),
        "campaign": row.get("campaign", ""),
        "phone": row.get("phone", ""),
        "started_at": row.get("started_at", ""),
        "detail": detail,
    }


class _Intervals:
    """For one number: the periods during which something (opt-out, DNC entry) was in force."""

    def __init__(self) -> None:
        self.periods: list[tuple[datetime, datetime | None]] = []

    def covers(self, moment: datetime) -> bool:
        return any(start <= moment and (end is None or moment < end) for start, end in self.periods)


def check_hours(row: dict[str, str], campaign: dict[str, str]) -> Iterator[dict[str, Any]]:
    zones = [z for z in row.get("zones", "").split(";") if z]
    if not zones:
        yield _violation("hours", row, "no time zone recorded for the called party")
        return
    moment = _utc(row["started_at"])
    start, end = _clock(campaign["hours_start"]), _clock(campaign["hours_end"])
    days = {d.strip() for d in campaign.get("days", "").split(",") if d.strip()} or set(WEEKDAYS)
    for name in zones:
        local = moment.astimezone(ZoneInfo(name))
        if not (start <= local.time() < end):
            yield _violation(
                "hours", row, f"local time {local:%H:%M} in {name} outside {start:%H:%M}-{end:%H:%M}"
            )
        elif WEEKDAYS[local.weekday()] not in days:
            yield _violation("hours", row, f"{WEEKDAYS[local.weekday()]} in {name} is not a calling day")


class _ContactAttempts:
    """One contact's attempts in one campaign, kept compact (a 1M-row export must stay in memory budget)."""

    __slots__ = ("ids", "phone", "times", "zone")

    def __init__(self, phone: str, zone: str):
        self.phone, self.zone = phone, zone
        self.times = array("d")
        self.ids: list[str] = []


def check_caps(
    group: _ContactAttempts, campaign_name: str, campaign: dict[str, str]
) -> Iterator[dict[str, Any]]:
    """Per-day, rolling 24 h, total and minimum-gap caps over one contact's attempts."""
    order = sorted(range(len(group.times)), key=group.times.__getitem__)
    times = [group.times[i] for i in order]
    per_day = int(campaign["cap_per_day"]) if campaign.get("cap_per_day") else None
    per_24h = int(campaign["cap_24h"]) if campaign.get("cap_24h") else None
    total = int(campaign["cap_total"]) if campaign.get("cap_total") else None
    min_gap = float(campaign["min_gap_s"]) if campaign.get("min_gap_s") else None
    zone = ZoneInfo(group.zone or "UTC")
    by_day: dict[date, int] = defaultdict(int)
    for index, epoch in enumerate(times):
        moment = datetime.fromtimestamp(epoch, UTC)
        row = {"attempt_id": group.ids[order[index]], "campaign": campaign_name, "phone": group.phone}
        row["started_at"] = moment.isoformat().replace("+00:00", "Z")
        local_day = moment.astimezone(zone).date()
        by_day[local_day] += 1
        if per_day is not None and by_day[local_day] > per_day:
            yield _violation("cap_day", row, f"attempt {by_day[local_day]} on one local day, cap {per_day}")
        in_24h = index + 1 - bisect_right(times, epoch - 86400)
        if per_24h is not None and in_24h > per_24h:
            yield _violation("cap_24h", row, f"attempt {in_24h} within 24 hours, cap {per_24h}")
        if total is not None and index + 1 > total:
            yield _violation("cap_total", row, f"attempt {index + 1} in all, cap {total}")
        if min_gap is not None and index > 0 and epoch - times[index - 1] < min_gap:
            gap = epoch - times[index - 1]
            yield _violation(
                "min_gap", row, f"{gap:.0f} s after the previous attempt, minimum {min_gap:.0f} s"
            )


def abandonment_windows(
    abandoned: dict[date, int], live: dict[date, int], window: str
) -> list[dict[str, Any]]:
    """Abandoned and live answers per window: each UTC day ('day'), or 30 days ending each day ('30d')."""
    span = 1 if window == "day" else 30
    result = []
    for day in sorted(live):
        days = [day - timedelta(days=k) for k in range(span)]
        a, n = sum(abandoned.get(d, 0) for d in days), sum(live.get(d, 0) for d in days)
        result.append(
            {"window_start": days[-1].isoformat(), "window_end": day.isoformat(), "abandoned": a, "live": n}
        )
    return result


def recheck(folder: Path) -> list[dict[str, Any]]:
    """Every violation the exported rows show; empty when the export is clean."""
    folder = Path(folder)
    campaigns = {(c["campaign"], c["version"]): c for c in _read(folder, "campaigns.csv")}
    optouts: dict[str, _Intervals] = defaultdict(_Intervals)
    for row in _read(folder, "optouts.csv"):
        optouts[row["phone_ref"]].periods.append((_utc(row["effective_at"]), None))
    internal: dict[str, _Intervals] = defaultdict(_Intervals)
    for row in _read(folder, "dnc_internal.csv"):
        end = _utc(row["removed_at"]) if row.get("removed_at") else None
        internal[row["phone_ref"]].periods.append((_utc(row["added_at"]), end))
    national = {(r["phone_ref"], r["registry_version"]) for r in _read(folder, "dnc_national_matches.csv")}
    consents: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for row in _read(folder, "consents.csv"):
        if row["purpose"] == "marketing":
            consents[row["phone_ref"]].append((_utc(row["given_at"]), row["action"]))
    for history in consents.values():
        history.sort()

    violations: list[dict[str, Any]] = []
    by_contact: dict[tuple[str, str], _ContactAttempts] = {}
    abandoned: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    live: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for row in _read(folder, "attempts.csv"):
        campaign = campaigns.get((row["campaign"], row["campaign_version"]))
        if campaign is None:
            violations.append(
                _violation("unknown_campaign", row, "attempt of a campaign version not exported")
            )
            continue
        moment, ref = _utc(row["started_at"]), row["phone_ref"]
        violations.extend(check_hours(row, campaign))
        if optouts[ref].covers(moment) and row.get("callback_requested") != "1":
            violations.append(_violation("opted_out", row, "number had opted out before this call"))
        if internal[ref].covers(moment):
            violations.append(_violation("dnc_internal", row, "number was on the internal do-not-call list"))
        if campaign["kind"] == "marketing":
            if (ref, row.get("registry_version", "")) in national:
                violations.append(_violation("dnc_national", row, "number is on the registry copy checked"))
            before = [action for at, action in consents.get(ref, []) if at <= moment]
            if not before or before[-1] != "grant":
                violations.append(_violation("no_consent", row, "no marketing consent in force at the time"))
        group = by_contact.get((row["campaign"], ref))
        if group is None:
            zone = next((z for z in row.get("zones", "").split(";") if z), "UTC")
            group = by_contact[(row["campaign"], ref)] = _ContactAttempts(row.get("phone", ""), zone)
        group.times.append(moment.timestamp())
        group.ids.append(row["attempt_id"])
        if row["outcome"] in LIVE_OUTCOMES:
            live[row["campaign"]][moment.date()] += 1
            abandoned[row["campaign"]][moment.date()] += row["outcome"] == "abandoned"

    latest: dict[str, dict[str, str]] = {}
    for (name, version), campaign in campaigns.items():
        if name not in latest or int(version) > int(latest[name]["version"]):
            latest[name] = campaign
    for (name, _ref), group in by_contact.items():
        violations.extend(check_caps(group, name, latest[name]))
    for name in live:
        campaign = latest[name]
        cap = float(campaign["abandon_cap"])
        for window in abandonment_windows(abandoned[name], live[name], campaign["abandon_window"]):
            if window["live"] and window["abandoned"] / window["live"] > cap:
                rate = window["abandoned"] / window["live"]
                violations.append(
                    {
                        "rule": "abandon_rate",
                        "attempt_id": "",
                        "campaign": name,
                        "phone": "",
                        "started_at": window["window_end"],
                        "detail": f"{window['abandoned']}/{window['live']} = {rate:.2%} in "
                        f"{window['window_start']}..{window['window_end']}, cap {cap:.0%}",
                    }
                )
    return violations
