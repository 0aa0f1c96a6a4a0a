"""Times are stored in UTC as ISO-8601 text ('2026-11-23T14:05:00Z'); local time is computed when needed."""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import UsageError, UserError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """UTC ISO text with a Z, second precision (microseconds kept when present)."""
    moment = moment.astimezone(UTC)
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _malformed(what: str) -> type[UserError]:
    """A command-line option's value that is not what it names is a usage error; any other input's, bad input."""
    return UsageError if what.startswith("--") else UserError


def parse_time(text: str, what: str = "time", tz: str | None = None) -> datetime:
    """A user-given time: ISO date or date-time; naive values are in `tz` (default UTC).

    `what` names the input; one that is a command-line option (`--at`) and not a time at all is a usage
    error (exit 2), as the options Click checks itself are. A time that does not exist is a refusal.
    """
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _malformed(what)(
            f"{what} {text!r} is not a time: use ISO format like 2026-11-23T09:30 or 2026-11-23"
        ) from None
    _in_years(value.date(), what, text)
    if value.tzinfo is None:
        if tz:
            return _local(value, zone(tz), tz, what, text)
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _local(naive: datetime, where: ZoneInfo, name: str, what: str, text: str) -> datetime:
    """A wall-clock time in a zone, refusing the hour a daylight-saving change skips or repeats: a
    customer's "2:30" on the spring-forward night does not exist, and on the fall-back night it happens
    twice; picking one silently would call at a time nobody asked for."""
    first, second = naive.replace(tzinfo=where, fold=0), naive.replace(tzinfo=where, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    wall = first.astimezone(UTC).astimezone(where).replace(tzinfo=None)
    if wall != naive:  # skipped: it maps back to another wall time
        raise UserError(
            f"{what} {text!r} does not exist in {name} (the clocks skip that hour for daylight saving): "
            "give a time after the change"
        )
    raise UserError(
        f"{what} {text!r} happens twice in {name} (the clocks go back): add the offset, "
        f"{first.isoformat(timespec='minutes')} or {second.isoformat(timespec='minutes')}"
    )


def parse_date(text: str, what: str = "date") -> date:
    """A user-given date; `what` as for `parse_time`."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise _malformed(what)(f"{what} {text!r} is not a date: use YYYY-MM-DD") from None
    _in_years(day, what, text)
    return day


FIRST_YEAR, LAST_YEAR = 1970, 2999  # what a call center's records can hold; windows and offsets stay in range


def _in_years(day: date, what: str, text: str) -> None:
    """`--at 0001-01-01` or `--to 9999-12-31` made a window or an offset leave the calendar (a traceback)."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise _malformed(what)(
            f"{what} {text!r} is out of range: give a date from {FIRST_YEAR} to {LAST_YEAR}"
        )


MAX_DURATION_S = 3650 * 86400.0  # ten years: any longer, and times built from it leave the calendar (9999)


def parse_duration(text: str | int | float) -> timedelta:
    """'90s', '10m', '4h', '1d', '2w' or a number of seconds, up to ten years. Raises ValueError when
    malformed or longer (a 9999999d SLA was stored, then every ticket's due time overflowed)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise ValueError(f"bad duration {text!r}: use a number and a unit s, m, h, d or w (e.g. 10m)")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not seconds <= MAX_DURATION_S:  # NaN too
        raise ValueError(f"duration {text!r} is too long: at most 3650d (ten years)")
    return timedelta(seconds=seconds)


@functools.lru_cache(maxsize=4096)
def is_zone(name: str) -> bool:
    """True for a name `available_timezones()` lists: an IANA zone ZoneInfo can load, without the
    `posix/` and `right/` copies and `posixrules`. Asked of ZoneInfo one name at a time (and cached):
    `available_timezones()` walks every file of the zone database, about 35 ms at the first check of
    every command (2 % of a whole `dial run`)."""
    if not name or name == "posixrules" or name.startswith(("posix/", "right/")):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown, not a key (a path, a .tab file), a folder
        return False
    return True


@functools.lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    from zoneinfo import available_timezones  # walks the zone database: only when a name needs folding

    return {name.casefold(): name for name in available_timezones()}


@functools.lru_cache(maxsize=4096)
def zone_name(name: str) -> str | None:
    """The IANA name a CRM cell means, in its canonical spelling (`utc` -> `UTC`, `asia/shanghai` ->
    `Asia/Shanghai`), or None. Zone names are case-sensitive on Linux and not on macOS or Windows, so
    exports carry any case."""
    if is_zone(name):
        return name
    folded = _zones_by_folded_name().get(name.strip().casefold())
    return folded if folded and is_zone(folded) else None


def zone(name: str) -> ZoneInfo:
    """The zone a user named, or one line: a folder of the zone database (`America`) is not a zone."""
    if not is_zone(name):
        raise UserError(f"time zone {name!r} is not an IANA zone name (e.g. Europe/London)")
    return ZoneInfo(name)


def micros(seconds: float) -> int:
    """`timedelta(seconds=seconds) // timedelta(microseconds=1)` without building the timedelta: the same
    rounding (the fraction of a microsecond half to even, as datetime's C code does it)."""
    fraction, whole = math.modf(seconds)
    return int(whole) * 1_000_000 + round(fraction * 1e6)


class IsoText:
    """ISO-8601 text of instants given as integer microseconds since the Unix epoch, as `datetime.isoformat`
    writes it, without building a datetime: the text up to the minute is kept, since a dial run writes a
    few hundred instants a minute."""

    def __init__(self) -> None:
        self._minutes: dict[int, str] = {}

    def __call__(self, us: int, suffix: str = "Z") -> str:
        """The text of `us` (already shifted to local time for a local text), ending in `suffix`."""
        whole, micro = divmod(us, 1_000_000)
        minute, second = divmod(whole, 60)
        prefix = self._minutes.get(minute)
        if prefix is None:
            if len(self._minutes) > 100_000:
                self._minutes.clear()
            prefix = self._minutes[minute] = (_UNIX_EPOCH + timedelta(minutes=minute)).isoformat()[:17]
        if micro:  # str() of 1_000_000 + micro and a table of seconds: cheaper than format specs
            return prefix + _SECONDS[second] + "." + str(1_000_000 + micro)[1:] + suffix
        return prefix + _SECONDS[second] + suffix


_SECONDS = tuple(f"{second:02d}" for second in range(60))


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
