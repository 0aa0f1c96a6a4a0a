"""The checker's per-hour shortcut for local times agrees with a full zone conversion, above all around
clock changes (including the half-hour ones) and local midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from cctool.recheck import CallingWindow, _hours_ok, _HourTable, _zone_list

ZONES = [
    "America/New_York",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Europe/London",
    "Asia/Kolkata",
]


def _changes() -> list[datetime]:
    """Every UTC instant (to the quarter hour) in 2026 at which one of ZONES changes its offset."""
    found = []
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    while moment.year == 2026:
        for name in ZONES:
            zone = ZoneInfo(name)
            if (
                moment.astimezone(zone).utcoffset()
                != (moment + timedelta(minutes=15)).astimezone(zone).utcoffset()
            ):
                found.append(moment + timedelta(minutes=15))
        moment += timedelta(minutes=15)
    return found


CHANGES = _changes()


@settings(max_examples=300, deadline=None)
@given(
    change=st.sampled_from(CHANGES),
    shift=st.integers(min_value=-3 * 3600, max_value=3 * 3600),
    zones=st.lists(st.sampled_from(ZONES), min_size=0, max_size=3, unique=True),
    hours=st.sampled_from([("00:00", "23:59"), ("09:00", "20:00"), ("01:30", "02:45"), ("23:00", "23:59")]),
    days=st.sampled_from(["mon,tue,wed,thu,fri,sat,sun", "mon,wed,fri", "sun"]),
)
def test_the_shortcut_agrees_with_a_full_conversion(change, shift, zones, hours, days) -> None:
    moment = change + timedelta(seconds=shift)
    text = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    window = CallingWindow({"hours_start": hours[0], "hours_end": hours[1], "days": days, "kind": "survey"})
    joined = ";".join(zones)
    epoch, ok = _HourTable().check(text, joined, window)
    assert epoch == moment.timestamp()
    assert ok == _hours_ok(moment, _zone_list(joined), window)


def test_a_time_in_another_form_takes_the_full_conversion() -> None:
    window = CallingWindow({"hours_start": "09:00", "hours_end": "20:00", "days": "", "kind": "survey"})
    epoch, ok = _HourTable().check("2026-10-01T14:00:00.500+00:00", "America/New_York", window)
    assert (epoch, ok) == (datetime(2026, 10, 1, 14, 0, 0, 500000, tzinfo=UTC).timestamp(), True)
