"""Help that matches behaviour: a time typed without an offset is read as UTC, and every option taking
one says so (the README's `preview --at 2026-11-24T10:00` judged a US campaign at 05:00 New York)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "command",
    [
        ("campaign", "preview"),
        ("consent", "grant"),
        ("consent", "revoke"),
        ("callback", "due"),
        ("audit", "log"),
    ],
)
def test_every_time_option_says_a_time_without_offset_is_utc(cli, command) -> None:
    shown = cli(*command, "--help")
    assert shown.code == 0
    assert "UTC unless it has an offset" in " ".join(shown.stdout.replace("│", " ").split())


def test_a_preview_time_with_an_offset_is_judged_at_that_instant(cli) -> None:
    from .campaign_data import EXAMPLES

    cli("campaign", "load", EXAMPLES / "renewal-us.yaml")
    shown = cli("--json", "campaign", "preview", "broadband-renewal-2026q4", "--at", "2026-11-24T10:00-05:00")
    assert shown.code == 0 and shown.json["at"] == "2026-11-24T15:00:00Z"
