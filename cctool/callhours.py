"""Calling hours for one contact: which zones apply, the window, and the next time a call may start.

A contact's own time zone wins over the zones its number maps to. Where a number spans several zones a
moment is inside calling hours only when it is inside the window in every one of them
(shared/COMPLIANCE.md). Local time is computed at the moment it matters, so daylight saving is right.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from . import campaign_store, phones, policy

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Window:
    """Local hours a call may start in: [start, end), on `days` (0 = Monday; None: every day)."""

    start: time
    end: time
    days: frozenset[int] | None = None
    source: str = "policy strict"

    def describe(self) -> str:
        days = "" if self.days is None else " " + ",".join(DAY_NAMES[d] for d in sorted(self.days))
        return f"{self.start:%H:%M}-{self.end:%H:%M}{days} ({self.source})"


@dataclass(frozen=True)
class Zones:
    """The zones a contact's local time is taken in, and where they came from."""

    names: tuple[str, ...]
    source: str  # 'contact' (its own field), 'number' (the number's zones) or 'default' (UTC)


def zones_of(timezone: str | None, number_zones: Iterable[str] | str | None) -> Zones:
    """The contact's own zone when set, else its number's zones, else UTC."""
    if timezone:
        return Zones((timezone,), "contact")
    if isinstance(number_zones, str):
        try:
            number_zones = json.loads(number_zones or "[]")
        except ValueError:
            number_zones = []
    names = tuple(z for z in (number_zones or ()) if z)
    if names:
        return Zones(names, "number")
    return Zones(("UTC",), "default")


def zones_for_phone(conn: sqlite3.Connection, phone: str) -> Zones:
    """The zones of a known contact, or of the bare number when there is no contact yet."""
    row = conn.execute("SELECT timezone, number_zones FROM contacts WHERE phone = ?", (phone,)).fetchone()
    if row is not None:
        found = zones_of(row[0], row[1])
        if found.source != "default":
            return found
    try:
        return zones_of(None, phones.normalize(phone).zones)
    except phones.InvalidNumber:
        return Zones(("UTC",), "default")


def policy_window(region: str | None) -> Window:
    """The default window for a number's region: the preset's hours (cn 09-21, us/uk 08-21, else strict)."""
    chosen = policy.for_region(region)
    return Window(chosen.hours_start, chosen.hours_end, None, f"policy {chosen.name}")


def campaign_window(conn: sqlite3.Connection, campaign: str) -> Window:
    """The current version's hours and days, never wider than its policy preset's hours."""
    stored = campaign_store.get(conn, campaign)
    preset = policy.PRESETS.get(stored.policy, policy.PRESETS["strict"])
    start = max(time.fromisoformat(stored.hours_start), preset.hours_start)
    end = min(time.fromisoformat(stored.hours_end), preset.hours_end)
    days = frozenset(DAY_NAMES.index(d.strip()) for d in stored.days if d.strip() in DAY_NAMES)
    return Window(start, end, days or None, f"campaign {campaign}")


def window_for(conn: sqlite3.Connection, phone: str, campaign: str | None = None) -> Window:
    if campaign:
        return campaign_window(conn, campaign)
    row = conn.execute("SELECT region FROM contacts WHERE phone = ?", (phone,)).fetchone()
    region = row[0] if row and row[0] else None
    if region is None:
        try:
            region = phones.normalize(phone).region
        except phones.InvalidNumber:
            region = None
    return policy_window(region)


def local_times(moment: datetime, zones: Zones) -> dict[str, datetime]:
    return {name: moment.astimezone(ZoneInfo(name)) for name in zones.names}


def is_allowed(moment: datetime, zones: Zones, window: Window) -> bool:
    """Inside the window in every zone (start inclusive, end exclusive)."""
    for local in local_times(moment, zones).values():
        clock = local.time().replace(tzinfo=None)
        if not window.start <= clock < window.end:
            return False
        if window.days is not None and local.weekday() not in window.days:
            return False
    return True


def next_allowed(moment: datetime, zones: Zones, window: Window, horizon_days: int = 14) -> datetime | None:
    """The earliest moment at or after `moment` inside calling hours in every zone (None within the horizon).

    The allowed set is an intersection of daily intervals, so its earliest point is `moment` itself or
    the start of some zone's window on some day: only those candidates need checking.
    """
    moment = moment.astimezone(UTC)
    if is_allowed(moment, zones, window):
        return moment
    candidates: set[datetime] = set()
    for name in zones.names:
        tz = ZoneInfo(name)
        first_day = moment.astimezone(tz).date()
        for offset in range(-1, horizon_days + 1):
            day = first_day + timedelta(days=offset)
            start = datetime.combine(day, window.start, tzinfo=tz).astimezone(UTC)
            if start > moment:
                candidates.add(start)
    for candidate in sorted(candidates):
        if is_allowed(candidate, zones, window):
            return candidate
    return None


def describe_local(moment: datetime, zones: Zones) -> str:
    """'22:30 Tue Asia/Shanghai'; zones showing the same local time are named together."""
    groups: dict[str, list[str]] = {}
    for name, local in local_times(moment, zones).items():
        groups.setdefault(f"{local:%H:%M %a}", []).append(name)
    return ", ".join(f"{clock} {'/'.join(names) if len(names) < 3 else names[0] + ' +' + str(len(names) - 1)}"
                     for clock, names in groups.items())  # fmt: skip


def reading_zone(moment: datetime, zones: Zones) -> str:
    """The zone a time typed without an offset is read in: the contact's, when all its zones agree."""
    offsets = {moment.astimezone(ZoneInfo(name)).utcoffset() for name in zones.names}
    return zones.names[-1] if len(offsets) == 1 else "UTC"
