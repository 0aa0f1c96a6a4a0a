"""The report's terminal charts read through the day as it was worked."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cctool.campaign_report import chart_lines, hour_axis


def _report(hours: dict[int, tuple[float, float | None]]) -> dict[str, Any]:
    return {
        "abandonment": {"cap": 0.03, "window": "30d", "rate": 0.02},
        "by_hour": [
            {"hour_utc": h, "attempts": 10, "abandon_rate": rate, "occupancy": occ}
            for h, (rate, occ) in sorted(hours.items())
        ],
    }


def test_a_run_past_midnight_utc_is_charted_from_its_first_hour() -> None:
    """A shift from 17:00 to 04:00 UTC: the chart starts at 17h and ends at 03h, one column per hour, and
    the hour with no data (20h) keeps its place as a blank."""
    worked = {h: (0.0, 0.8) for h in [17, 18, 19, 21, 22, 23, 0, 1, 2, 3]}
    worked[23] = (0.03, 1.0)  # the busiest hour, at the cap
    hour_row, abandon_row, occupancy_row = chart_lines(_report(worked))
    assert hour_row.startswith("hour (UTC, from 17h)")
    assert hour_row.endswith("78901230123")
    at = hour_row.index("78901230123")  # the charts' columns start here
    abandon, occupancy = abandon_row[at : at + 11], occupancy_row[at : at + 11]
    assert occupancy[3] == " " and " " not in occupancy[:3] + occupancy[4:]  # 20h has no data
    assert occupancy[6] == "█" and occupancy[0] != "█"  # 23h: busier than the others
    assert abandon[6] == "█" and abandon[3] == " "  # 23h at the cap; 20h blank
    assert "max 3.00% in an hour; 2.00% in the period" in abandon_row


@given(st.sets(st.integers(0, 23), min_size=1))
def test_every_hour_with_data_is_charted_once_in_clock_order(hours: set[int]) -> None:
    order = hour_axis(list(hours))
    assert hours <= set(order) and len(order) == len(set(order)) <= 24
    assert all((b - a) % 24 == 1 for a, b in zip(order, order[1:], strict=False))  # consecutive hours
    assert order[0] in hours and order[-1] in hours  # no blank column at either end
    # the hours left out are the longest stretch without data
    left_out = 24 - len(order)
    present = sorted(hours)
    gaps = [(present[(i + 1) % len(present)] - present[i] - 1) % 24 for i in range(len(present))]
    assert left_out == max(gaps)
