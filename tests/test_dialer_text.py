"""The times an attempt row holds, written from integers, read exactly as `to_iso` and `iso_s` write them."""

from __future__ import annotations

import random
import zoneinfo
from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from cctool.clock import VirtualClock
from cctool.dialer import DbRun, iso_s
from cctool.timeutil import IsoText, is_zone, micros, to_iso


class _Run:
    """Just enough of a DbRun to call its time formatting."""

    iso, iso_us, iso_ceil = DbRun.iso, DbRun.iso_us, DbRun.iso_ceil

    def __init__(self, start: datetime):
        self.clock = VirtualClock(start)
        self._epoch_us = int(start.timestamp()) * 1_000_000 + start.microsecond
        self._iso_text = IsoText()


def test_attempt_times_match_to_iso_and_iso_s() -> None:
    rng = random.Random(3)
    for start in (
        datetime(2026, 12, 1, 15, tzinfo=UTC),
        datetime(2026, 3, 8, 6, 59, 59, 999_999, tzinfo=UTC),
    ):
        run = _Run(start)
        for _ in range(5000):
            seconds = rng.choice([0.0, 1.0, 0.5, 86399.9999996]) + rng.randrange(0, 3 * 86400)
            if rng.random() < 0.5:
                seconds += rng.random()
            moment = start + timedelta(seconds=seconds)
            assert run.iso(seconds) == to_iso(moment)
            assert run.iso_ceil(seconds) == iso_s(moment)


@given(
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False) | st.integers(0, 10**9).map(lambda n: n / 2e6)
)
@example(2.5e-06)
@example(3.5e-06)
@example(86399.9999996)
@example(-0.5e-6)
@example(1e9 - 0.5e-6)
def test_microseconds_of_a_run_offset_round_as_timedelta_does(seconds: float) -> None:
    """An attempt's instant is the run's start plus the engine's float seconds, to the microsecond: the
    shortcut rounds every offset, halves of a microsecond included, exactly as `timedelta` does."""
    assert micros(seconds) == timedelta(seconds=seconds) // timedelta(microseconds=1)


def test_microseconds_of_many_offsets_of_a_shift() -> None:
    # a plain `round(seconds * 1e6)` differs on about 1 in 20,000 of these: the test sees it
    rng, us = random.Random(5), timedelta(microseconds=1)
    for _ in range(200_000):
        seconds = rng.uniform(0, 10 * 86400)
        assert micros(seconds) == timedelta(seconds=seconds) // us, seconds


def test_is_zone_accepts_exactly_the_zones_available_timezones_lists() -> None:
    """A contact's zone and its number's zones are kept only when they name a real IANA zone: every name
    the zone database lists, and none of the files beside them (copies under posix/ and right/, folders,
    tables, paths) or a misspelling."""
    listed = zoneinfo.available_timezones()
    assert all(is_zone(name) for name in listed)
    for name in ("", "utc", "America", "America/New_York ", "America//New_York", "posixrules",
                 "posix/America/New_York", "right/UTC", "zone.tab", "tzdata.zi", "../etc/passwd",
                 "/etc/localtime", "Mars/Olympus_Mons"):  # fmt: skip
        assert name not in listed and not is_zone(name), name
