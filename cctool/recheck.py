"""The auditor's independent re-check: violations computed from the exported rows alone.

This module deliberately shares no code with `cctool.compliance` (the dialer's decision): it reads the
CSV files of an export folder, recomputes local times with zoneinfo, and applies the rules as an
auditor would read them. If the dialer's decision had a bug, the two would disagree and the export
says so. For data cctool produced, the result must be empty.
"""

from __future__ import annotations

import csv
import json
import operator
import os
import select
import sys
from array import array
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
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
    moment = datetime.fromisoformat(text)  # Python >= 3.11 reads the trailing Z
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


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


class CallingWindow:
    """A campaign version's calling hours and days, parsed once (the check runs once per attempt)."""

    def __init__(self, campaign: dict[str, str]):
        self.start, self.end = _clock(campaign["hours_start"]), _clock(campaign["hours_end"])
        self.start_s = self.start.hour * 3600 + self.start.minute * 60
        self.end_s = self.end.hour * 3600 + self.end.minute * 60
        self.days = {d.strip() for d in campaign.get("days", "").split(",") if d.strip()} or set(WEEKDAYS)
        self.weekdays = {WEEKDAYS.index(d) for d in self.days if d in WEEKDAYS}
        self.marketing = campaign.get("kind") == "marketing"


_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    found = _ZONES.get(name)
    if found is None:
        found = _ZONES[name] = ZoneInfo(name)
    return found


def check_hours(row: dict[str, str], window: CallingWindow) -> Iterator[dict[str, Any]]:
    """The call's start must fall inside the window on a calling day in every zone the number maps to."""
    zones = [z for z in row.get("zones", "").split(";") if z]
    if not zones:
        yield _violation("hours", row, "no time zone recorded for the called party")
        return
    moment = _utc(row["started_at"])
    start, end = window.start, window.end
    for name in zones:
        local = moment.astimezone(_zone(name))
        if not (start <= local.time() < end):
            yield _violation(
                "hours", row, f"local time {local:%H:%M} in {name} outside {start:%H:%M}-{end:%H:%M}"
            )
        elif WEEKDAYS[local.weekday()] not in window.days:
            yield _violation("hours", row, f"{WEEKDAYS[local.weekday()]} in {name} is not a calling day")


def _hours_ok(moment: datetime, zones: tuple[ZoneInfo, ...], window: CallingWindow) -> bool:
    """The fast path of `check_hours` for the common case: no violation, no dictionaries built."""
    for zone in zones:
        local = moment.astimezone(zone)
        if not (window.start <= local.time() < window.end) or local.weekday() not in window.weekdays:
            return False
    return bool(zones)


_ZONE_LISTS: dict[str, tuple[ZoneInfo, ...]] = {}
_CAP_FIELDS = ("cap_per_day", "cap_24h", "cap_total", "min_gap_s")


class _HourTable:
    """Local clock and weekday at the start of each UTC hour, per list of zones, worked out once.

    A million attempts fall in a few thousand (zones, UTC hour) pairs. When no zone changes its offset
    during the hour and no local midnight falls in it, a call's local time of day is the hour's plus
    the minutes and seconds past the UTC hour: arithmetic, not a zoneinfo conversion per call. Any other
    case (and any unusual time text) takes the full conversion of `_hours_ok`.
    """

    def __init__(self) -> None:
        # (zones, "YYYY-MM-DDTHH") -> (epoch of the hour, ((local seconds of day, weekday), ...) or None)
        self._hours: dict[tuple[str, str], tuple[float, tuple[tuple[int, int], ...] | None]] = {}

    def _hour(self, zones: str, hour: str) -> tuple[float, tuple[tuple[int, int], ...] | None]:
        start = datetime.fromisoformat(hour + ":00:00+00:00")
        clocks: list[tuple[int, int]] = []
        for zone in _ZONE_LISTS.get(zones) or _zone_list(zones):
            first, last = start.astimezone(zone), (start + timedelta(seconds=3599)).astimezone(zone)
            seconds = first.hour * 3600 + first.minute * 60 + first.second
            if first.utcoffset() != last.utcoffset() or seconds + 3599 >= 86400:
                return start.timestamp(), None
            clocks.append((seconds, first.weekday()))
        found = self._hours[(zones, hour)] = (start.timestamp(), tuple(clocks))
        return found

    def check(self, started: str, zones: str, window: CallingWindow) -> tuple[float, bool]:
        """(epoch seconds of the call, whether it is inside the window in every zone)."""
        if len(started) == 20 and started[13] == ":" and started[16] == ":" and started[19] == "Z":
            found = self._hours.get((zones, started[:13])) or self._hour(zones, started[:13])
            epoch, clocks = found
            if clocks is not None and started[14:16].isdigit() and started[17:19].isdigit():
                past = int(started[14:16]) * 60 + int(started[17:19])
                epoch += past
                for seconds, weekday in clocks:
                    local = seconds + past
                    if not (window.start_s <= local < window.end_s) or weekday not in window.weekdays:
                        return epoch, False
                return epoch, bool(clocks)
        moment = _utc(started)
        return moment.timestamp(), _hours_ok(moment, _ZONE_LISTS.get(zones) or _zone_list(zones), window)


def _zone_list(zones: str) -> tuple[ZoneInfo, ...]:
    found = _ZONE_LISTS.get(zones)
    if found is None:
        found = _ZONE_LISTS[zones] = tuple(_zone(z) for z in zones.split(";") if z)
    return found


class _ContactAttempts:
    """One contact's attempts in one campaign, kept compact (a 1M-row export must stay in memory budget)."""

    __slots__ = ("ids", "phone", "times", "zone")

    def __init__(self, phone: str, zone: str):
        self.phone, self.zone = phone, zone
        self.times = array("d")
        self.ids = array("q")


def check_caps(
    group: _ContactAttempts, campaign_name: str, campaign: dict[str, str]
) -> Iterator[dict[str, Any]]:
    """Per-day, rolling 24 h, total and minimum-gap caps over one contact's attempts."""
    per_day = int(campaign["cap_per_day"]) if campaign.get("cap_per_day") else None
    per_24h = int(campaign["cap_24h"]) if campaign.get("cap_24h") else None
    total = int(campaign["cap_total"]) if campaign.get("cap_total") else None
    min_gap = float(campaign["min_gap_s"]) if campaign.get("min_gap_s") else None
    if per_day is None and per_24h is None and total is None and min_gap is None:
        return
    order = sorted(range(len(group.times)), key=group.times.__getitem__)
    times = [group.times[i] for i in order]
    zone = _zone(group.zone or "UTC")
    by_day: dict[date, int] = defaultdict(int)

    def row(index: int) -> dict[str, str]:
        moment = datetime.fromtimestamp(times[index], UTC)
        return {
            "attempt_id": str(group.ids[order[index]]),
            "campaign": campaign_name,
            "phone": group.phone,
            "started_at": moment.isoformat().replace("+00:00", "Z"),
        }

    for index, epoch in enumerate(times):
        if per_day is not None:
            local_day = datetime.fromtimestamp(epoch, zone).date()
            by_day[local_day] += 1
            if by_day[local_day] > per_day:
                yield _violation(
                    "cap_day", row(index), f"attempt {by_day[local_day]} on one local day, cap {per_day}"
                )
        if per_24h is not None:
            in_24h = index + 1 - bisect_right(times, epoch - 86400)
            if in_24h > per_24h:
                yield _violation("cap_24h", row(index), f"attempt {in_24h} within 24 hours, cap {per_24h}")
        if total is not None and index + 1 > total:
            yield _violation("cap_total", row(index), f"attempt {index + 1} in all, cap {total}")
        if min_gap is not None and index > 0 and epoch - times[index - 1] < min_gap:
            gap = epoch - times[index - 1]
            yield _violation(
                "min_gap", row(index), f"{gap:.0f} s after the previous attempt, minimum {min_gap:.0f} s"
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


_ATTEMPT_FIELDS = (
    "attempt_id",
    "campaign",
    "campaign_version",
    "phone",
    "phone_ref",
    "started_at",
    "zones",
    "outcome",
    "registry_version",
    "callback_requested",
)


def _attempt_rows(lines: Iterable[str]) -> Iterator[tuple[str, ...]]:
    """attempts.csv rows as tuples of `_ATTEMPT_FIELDS` (an absent column reads as '')."""
    reader = csv.reader(lines)
    header = next(reader, [])
    width = len(header)
    pick = operator.itemgetter(*[header.index(n) if n in header else width for n in _ATTEMPT_FIELDS])
    for values in reader:
        values.append("")
        yield pick(values)


def _file_lines(folder: Path) -> Iterator[str]:
    path = folder / "attempts.csv"
    if not path.exists():
        return
    with path.open(newline="", encoding="utf-8") as handle:
        yield from handle


def follow(path: Path, writer_done: Callable[[], bool]) -> Iterator[str]:
    """The lines of a CSV file another process is still writing, each only once it is complete.

    `writer_done` waits a little and says whether the writer has closed the file; the rest is then read
    to its end. Lines are cut at "\n" only (never inside a UTF-8 character; a quoted field holding a
    newline spans lines, which csv.reader joins again).
    """
    pending = b""
    finished = False
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(1 << 18)  # 256 KB: little held in memory at once
            if chunk:
                pending += chunk
                cut = pending.rfind(b"\n") + 1
                if cut:
                    lines = pending[:cut].decode("utf-8").split("\n")
                    pending = pending[cut:]
                    lines.pop()  # the empty text after the last newline
                    yield from (line + "\n" for line in lines)
                continue
            if finished:
                break
            finished = writer_done()
    if pending:
        yield pending.decode("utf-8")


def _as_row(values: tuple[str, ...]) -> dict[str, str]:
    return dict(zip(_ATTEMPT_FIELDS, values))


def _consented(history: Any, moment: float) -> bool:
    """The latest marketing consent record at or before `moment` (epoch seconds) is a grant. `history`:
    the number's records (epoch seconds, action) in order, or its only record itself (most numbers have
    one: a tuple less each, megabytes for 100,000s of numbers)."""
    if not history:
        return False
    if type(history[0]) is float:
        return bool(history[0] <= moment and history[1] == "grant")
    index = bisect_right(history, (moment, "\uffff"))
    return index > 0 and history[index - 1][1] == "grant"


def recheck(folder: Path, attempt_lines: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Every violation the exported rows show; empty when the export is clean.

    The other tables are read first; attempts.csv is then read once, from `attempt_lines` when given
    (the exporter runs this in a second process that follows the file as it is written).
    """
    folder = Path(folder)
    if attempt_lines is None:
        attempt_lines = _file_lines(folder)
    campaigns = {(c["campaign"], c["version"]): c for c in _read(folder, "campaigns.csv")}
    optouts: dict[str, _Intervals] = defaultdict(_Intervals)
    for row in _read(folder, "optouts.csv"):
        optouts[row["phone_ref"]].periods.append((_utc(row["effective_at"]), None))
    internal: dict[str, _Intervals] = defaultdict(_Intervals)
    for row in _read(folder, "dnc_internal.csv"):
        end = _utc(row["removed_at"]) if row.get("removed_at") else None
        internal[row["phone_ref"]].periods.append((_utc(row["added_at"]), end))
    national = {(r["phone_ref"], r["registry_version"]) for r in _read(folder, "dnc_national_matches.csv")}
    # phone_ref -> marketing consent records (epoch seconds, action), kept as compact tuples
    consents: dict[str, Any] = {}
    for row in _read(folder, "consents.csv"):
        if row["purpose"] == "marketing":
            record = (_utc(row["given_at"]).timestamp(), sys.intern(row["action"]))
            consents[row["phone_ref"]] = (*consents.get(row["phone_ref"], ()), record)
    for ref, history in consents.items():
        # at equal times a revoke sorts after the grant, so it wins
        consents[ref] = history[0] if len(history) == 1 else tuple(sorted(history))

    violations: list[dict[str, Any]] = []
    by_contact: dict[tuple[str, str], _ContactAttempts] = {}
    live_by_day: Counter[tuple[str, str]] = Counter()
    abandoned_by_day: Counter[tuple[str, str]] = Counter()
    windows = {key: CallingWindow(campaign) for key, campaign in campaigns.items()}
    latest: dict[str, dict[str, str]] = {}
    for (name, version), campaign in campaigns.items():
        if name not in latest or int(version) > int(latest[name]["version"]):
            latest[name] = campaign
    # Each number's attempt times are kept only for campaigns with a cap to check them against.
    capped = {name: any(c.get(k) for k in _CAP_FIELDS) for name, c in latest.items()}
    hours = _HourTable()
    for values in _attempt_rows(attempt_lines):
        attempt_id, name, version, phone, ref, started, zones, outcome, registry, callback = values
        window = windows.get((name, version))
        if window is None:
            violations.append(
                _violation("unknown_campaign", _as_row(values), "attempt of a campaign version not exported")
            )
            continue
        epoch, hours_ok = hours.check(started, zones, window)
        if not hours_ok:
            violations.extend(check_hours(_as_row(values), window))
        moment = None  # as a datetime, only for the numbers with an opt-out or a DNC entry
        opted_out = optouts.get(ref)
        if opted_out is not None and callback != "1":
            moment = datetime.fromtimestamp(epoch, UTC)
        if opted_out is not None and moment is not None and opted_out.covers(moment):
            violations.append(
                _violation("opted_out", _as_row(values), "number had opted out before this call")
            )
        listed = internal.get(ref)
        if listed is not None and listed.covers(moment or datetime.fromtimestamp(epoch, UTC)):
            violations.append(
                _violation("dnc_internal", _as_row(values), "number was on the internal do-not-call list")
            )
        if window.marketing:
            if (ref, registry) in national:
                violations.append(
                    _violation("dnc_national", _as_row(values), "number is on the registry copy checked")
                )
            if not _consented(consents.get(ref), epoch):
                violations.append(
                    _violation("no_consent", _as_row(values), "no marketing consent in force at the time")
                )
        if capped[name]:
            group = by_contact.get((name, ref))
            if group is None:
                zone = next((z for z in zones.split(";") if z), "UTC")
                group = by_contact[(name, ref)] = _ContactAttempts(phone, sys.intern(zone))
            group.times.append(epoch)
            group.ids.append(int(attempt_id))
        if outcome in LIVE_OUTCOMES:
            day_key = (name, started[:10])
            live_by_day[day_key] += 1
            abandoned_by_day[day_key] += outcome == "abandoned"
    live: dict[str, dict[date, int]] = defaultdict(dict)
    abandoned: dict[str, dict[date, int]] = defaultdict(dict)
    for (name, day), count in live_by_day.items():
        live[name][date.fromisoformat(day)] = count
        abandoned[name][date.fromisoformat(day)] = abandoned_by_day[(name, day)]

    for (name, _ref), group in by_contact.items():
        violations.extend(check_caps(group, name, latest[name]))
    for name in live:
        campaign = latest[name]
        cap = float(campaign["abandon_cap"])
        for period in abandonment_windows(abandoned[name], live[name], campaign["abandon_window"]):
            if period["live"] and period["abandoned"] / period["live"] > cap:
                rate = period["abandoned"] / period["live"]
                violations.append(
                    {
                        "rule": "abandon_rate",
                        "attempt_id": "",
                        "campaign": name,
                        "phone": "",
                        "started_at": period["window_end"],
                        "detail": f"{period['abandoned']}/{period['live']} = {rate:.2%} in "
                        f"{period['window_start']}..{period['window_end']}, cap {cap:.0%}",
                    }
                )
    return violations


def _stdin_closed() -> bool:
    """Waits up to 50 ms for the exporter to say (a line, or closing our stdin) that attempts.csv is whole."""
    ready, _, _ = select.select([0], [], [], 0.05)
    return bool(ready)


def _wait_for_line() -> None:
    """Blocks until the exporter writes a line (or closes stdin), reading no byte past it."""
    while os.read(0, 1) not in (b"\n", b""):
        pass


def main(argv: list[str]) -> int:
    """`python -m cctool.recheck FOLDER` prints the violations as JSON.

    With `--follow`, the exporter starts this process early (while it is still small), says "go" once
    the other files are complete, and "done" once attempts.csv is: that file is read while it grows.
    """
    if argv[:1] == ["--follow"]:
        folder = Path(argv[1])
        _wait_for_line()
        violations = recheck(folder, follow(folder / "attempts.csv", _stdin_closed))
    else:
        violations = recheck(Path(argv[0]))
    sys.stdout.write(json.dumps(violations, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
