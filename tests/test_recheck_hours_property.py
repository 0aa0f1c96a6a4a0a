"""The checker's calling-hours rule, against an oracle, for any instant and any mix of zones."""

from __future__ import annotations

import csv
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from cctool.recheck import recheck

ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",  # half-hour offset, DST moves at 02:00 local (not on a UTC hour)
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # DST moves by 30 minutes
    "Asia/Shanghai",
    "Europe/London",
]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _write(folder: Path, name: str, rows: list[dict[str, str]], fields: list[str]) -> None:
    with (folder / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _allowed(moment: datetime, zone: str, start: time, end: time, days: set[str]) -> bool:
    """Oracle: wall-clock time as UTC plus the zone's offset at that instant."""
    offset = moment.astimezone(ZoneInfo(zone)).utcoffset()
    assert offset is not None
    wall = moment.replace(tzinfo=None) + offset
    return start <= wall.time() < end and DAYS[wall.weekday()] in days


@settings(max_examples=150, deadline=None)
@given(
    seconds=st.integers(min_value=0, max_value=2 * 365 * 86400),
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True),
    start_h=st.integers(min_value=6, max_value=11),
    span_h=st.integers(min_value=6, max_value=12),
    days=st.sets(st.sampled_from(DAYS), min_size=1),
)
def test_a_call_is_flagged_exactly_when_some_zone_is_outside_the_window(
    seconds, zones, start_h, span_h, days
):
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    start, end = time(start_h, 0), time(min(start_h + span_h, 23), 30)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        _write(
            folder,
            "campaigns.csv",
            [
                {
                    "campaign": "c",
                    "version": "1",
                    "kind": "survey",
                    "hours_start": f"{start:%H:%M}",
                    "hours_end": f"{end:%H:%M}",
                    "days": ",".join(sorted(days)),
                    "abandon_cap": "0.03",
                    "abandon_window": "30d",
                }
            ],
            [
                "campaign",
                "version",
                "kind",
                "hours_start",
                "hours_end",
                "days",
                "abandon_cap",
                "abandon_window",
            ],
        )
        _write(
            folder,
            "attempts.csv",
            [
                {
                    "attempt_id": "1",
                    "campaign": "c",
                    "campaign_version": "1",
                    "phone_ref": "r",
                    "started_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "zones": ";".join(zones),
                    "outcome": "no_answer",
                }
            ],
            ["attempt_id", "campaign", "campaign_version", "phone_ref", "started_at", "zones", "outcome"],
        )
        flagged = [v for v in recheck(folder) if v["rule"] == "hours"]
    expected = [z for z in zones if not _allowed(moment, z, start, end, days)]
    assert len(flagged) == len(expected)
