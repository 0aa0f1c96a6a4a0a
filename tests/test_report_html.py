"""The auditor's report.html renders in a real browser, shows its charts, and makes no request."""

from __future__ import annotations

from pathlib import Path

import pytest

from cctool.report_html import render

from .browser import render as browse

pytestmark = pytest.mark.browser


def _summary(violations: list[dict] | None = None) -> tuple[dict, dict]:
    summary = {
        "from": "2026-11-01",
        "to": "2026-11-30",
        "generated_at": "2026-12-01T00:00:00Z",
        "tool_version": "0.1.0",
        "masked": True,
        "audit_head": "ab" * 32,
        "counts": {"attempts": 120, "blocked": 7},
        "violations": violations or [],
    }
    charts = {
        "attempts_per_day": [{"day": f"2026-11-{d:02d}", "attempts": d * 3} for d in range(1, 31)],
        "abandonment": [
            {
                "campaign": "renewal",
                "window": "30d",
                "cap": 0.03,
                "windows": [
                    {"window_end": f"2026-11-{d:02d}", "rate": 0.01 + d / 3000} for d in range(1, 31)
                ],
            }
        ],
        "local_hours": {
            "hours": list(range(24)),
            "counts": [0] * 8 + [5] * 13 + [0] * 3,
            "allowed": [8 <= h < 21 for h in range(24)],
        },
        "optouts": [
            {
                "received": "2026-11-03T10:00:00Z",
                "effective": "2026-11-03T10:00:00Z",
                "channel": "call",
                "latency_s": 0.0,
            }
        ],
    }
    return summary, charts


def test_the_report_shows_its_charts_and_makes_no_request(tmp_path: Path) -> None:
    summary, charts = _summary()
    page = tmp_path / "report.html"
    page.write_text(render(summary, charts), encoding="utf-8")
    dom, requests = browse(page)
    assert requests == []
    for chart in ("attempts-per-day", "abandonment-renewal", "local-hours", "optout-latency"):
        assert f'id="{chart}"' in dom, f"chart {chart} missing from the rendered page"
    assert dom.count('class="bar"') >= 30 + 30 + 24
    assert 'class="cap"' in dom
    assert "no violations found" in dom


def test_the_request_counter_sees_a_page_that_loads_something(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text('<!doctype html><img src="http://tracker.example/pixel.png"><p>hi</p>', encoding="utf-8")
    _, requests = browse(page)
    assert any("tracker.example" in r and "/pixel.png" in r for r in requests)


def test_violations_are_listed_on_the_page(tmp_path: Path) -> None:
    summary, charts = _summary(
        [
            {
                "rule": "hours",
                "campaign": "renewal",
                "phone": "+1 212***0123",
                "started_at": "2026-11-03T12:00:00Z",
                "detail": "local time 07:00",
            }
        ]
    )
    page = tmp_path / "report.html"
    page.write_text(render(summary, charts), encoding="utf-8")
    dom, _ = browse(page)
    assert "1 violation(s)" in dom and "local time 07:00" in dom


def test_text_in_the_report_is_escaped(tmp_path: Path) -> None:
    summary, charts = _summary(
        [
            {
                "rule": "hours",
                "campaign": "<script>alert(1)</script>",
                "phone": "",
                "started_at": "",
                "detail": "",
            }
        ]
    )
    html = render(summary, charts)
    assert "<script>" not in html and "&lt;script&gt;" in html
