"""The report's terminal charts: through the day as it was worked, and readable on a narrow terminal."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cctool.campaign_report import BARS, chart_lines, hour_axis


def _report(hours: dict[int, tuple[float, float]] | list[int]) -> dict[str, Any]:
    """A report's hourly rows: hour -> (abandonment, occupancy), or hours that all read 1 % and 90 %."""
    rows = hours if isinstance(hours, dict) else dict.fromkeys(hours, (0.01, 0.9))
    return {
        "abandonment": {"cap": 0.03, "window": "30d", "rate": 0.02},
        "by_hour": [
            {"hour_utc": h, "attempts": 10, "abandon_rate": rate, "occupancy": occ}
            for h, (rate, occ) in sorted(rows.items())
        ],
    }


def test_a_run_past_midnight_utc_is_charted_from_its_first_hour() -> None:
    """A shift from 17:00 to 04:00 UTC: the chart starts at 17h and ends at 03h, one column per hour, and
    the hour with no data (20h) keeps its place as a dot, not the blank of an hour with no abandoned call."""
    worked = {h: (0.0, 0.8) for h in [17, 18, 19, 21, 22, 23, 0, 1, 2, 3]}
    worked[23] = (0.03, 1.0)  # the busiest hour, at the cap
    hour_row, abandon_row, occupancy_row = chart_lines(_report(worked))
    assert hour_row.startswith("hour (UTC, from 17h)")
    assert hour_row.endswith("78901230123  · no calls")
    at = hour_row.index("78901230123")  # the charts' columns start here
    abandon, occupancy = abandon_row[at : at + 11], occupancy_row[at : at + 11]
    assert occupancy[3] == "·" and "·" not in occupancy[:3] + occupancy[4:]  # 20h has no data
    assert occupancy[6] == "█" and occupancy[0] != "█"  # 23h: busier than the others
    assert abandon[6] == "█" and abandon[3] == "·"  # 23h at the cap; 20h has no data
    assert abandon[:3] == "   "  # 17h-19h: 0 % abandoned, a blank
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


def test_the_hourly_charts_run_in_the_order_of_the_shift() -> None:
    """A shift from 17:00 to 04:00 UTC was charted 0..4 then 17..23 under "from 00h", so 17h read as 7h;
    an hour without data inside the span lost its column."""
    assert hour_axis([0, 1, 2, 3, 4, 17, 18, 19, 20, 21, 22, 23]) == [
        17,
        18,
        19,
        20,
        21,
        22,
        23,
        0,
        1,
        2,
        3,
        4,
    ]
    assert hour_axis([9, 10, 12]) == [9, 10, 11, 12]
    assert hour_axis(list(range(24))) == list(range(24))
    lines = chart_lines(_report([0, 1, 2, 22, 23]))
    assert lines[0].startswith("hour (UTC, from 22h)") and lines[0].endswith("23012")  # no gap, no legend
    lines = chart_lines(_report([9, 10, 12]))
    assert lines[0].endswith("9012  · no calls") and "▃▃·▃" in lines[1]  # 11h: no calls


def test_on_a_narrow_terminal_a_chart_goes_below_its_name_instead_of_folding() -> None:
    lines = chart_lines(_report(list(range(24))), width=40)
    bars = [line for line in lines if line.strip() and set(line) <= set(BARS)]
    assert len(bars) == 2 and all(len(line) <= 40 and len(line.strip()) == 24 for line in bars)
    assert all(len(line) <= 40 for line in lines if not line.startswith("  max"))
    assert chart_lines(_report(list(range(24))), width=120)[1].startswith("abandonment (0..3%)")


def test_on_a_narrow_terminal_the_report_wraps_values_instead_of_cutting_them() -> None:
    """At 40 columns the days of "abandonment per day" read "2026-12-…": which day was it?"""
    import io

    from rich.console import Console

    from cctool.cli.report_cmd import render

    report = {
        **_report([9, 10]),
        "campaign": "broadband-renewal-2026q4", "attempts": 10, "contacts": 5, "connects": 3,
        "connect_rate": 0.3, "conversion": 0.1, "conversions": 1, "success_dispositions": ["sale"],
        "aht_s": 190.0, "logged_in_hours": 2.0, "occupancy": 0.5, "calls_per_agent_hour": None,
        "attempts_per_contact": 2.0,
    }  # fmt: skip
    report["abandonment"].update(
        abandoned=1, live_answers=40, safe_harbour_played=1,
        by_day=[{"day": d, "live_answers": 20, "abandoned": 0, "abandon_rate": 0.0}
                for d in ("2026-12-02", "2026-12-03")],
    )  # fmt: skip
    out = io.StringIO()
    render(Console(file=out, width=40, color_system=None), report)
    text = out.getvalue()
    day_table = text[text.index("abandonment per day") :].split("└")[0]
    days = "".join(line.split("│")[1].strip() for line in day_table.splitlines() if line.startswith("│"))
    assert "…" not in text and days == "2026-12-022026-12-03"  # each folded over two lines, all there
    per_hour = [line for line in text.splitlines() if "calls per" in line][0]
    assert per_hour.split("│")[2].strip() == "-"  # no figure (no logged-in time) reads as such
