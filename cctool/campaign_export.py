"""The campaign sections of `cctool audit export`: every version's effective figures and every override.

`campaigns.csv` is what the auditor's re-check (`recheck.py`) reads the hours, days and caps from;
`campaign_overrides.csv` lists each rule a campaign loosened against its preset, with the reason given.
Register both in `auditexport.EXTRA_SECTIONS` (see `SECTIONS`).
"""

from __future__ import annotations

from collections.abc import Callable

from .auditexport import Exporter

CAMPAIGN_COLUMNS = [
    "campaign", "version", "kind", "policy", "seller", "purpose", "caller_id", "hours_start", "hours_end",
    "days", "cap_per_day", "cap_24h", "cap_total", "min_gap_s", "abandon_cap", "abandon_window",
    "abandon_lock_s", "registry_max_age_s", "dial_mode", "script", "script_sha256", "sha256", "file_name",
    "loaded_at", "actor", "overrides",
]  # fmt: skip
OVERRIDE_COLUMNS = ["campaign", "version", "rule", "preset_value", "value", "reason", "recorded_at", "actor"]


def _only(x: Exporter) -> tuple[str, list[str]]:
    """A filter on one campaign when the export asks for one."""
    return (" AND campaign = ?", [x.request.campaign]) if x.request.campaign else ("", [])


def campaigns(x: Exporter) -> None:
    """Every campaign version loaded before the end of the period (older versions explain older attempts)."""
    where, params = _only(x)
    rows = x.query(
        "SELECT v.*, (SELECT count(*) FROM campaign_overrides o WHERE o.campaign = v.campaign "
        f"AND o.version = v.version) AS overrides FROM campaign_versions v WHERE v.loaded_at < ?{where} "
        "ORDER BY v.campaign, v.version",
        [x.request.until, *params],
    )
    x.table(
        "campaigns",
        CAMPAIGN_COLUMNS,
        ([r[c] for c in CAMPAIGN_COLUMNS] for r in rows),  # a caller ID is the company's, not masked
    )


def overrides(x: Exporter) -> None:
    where, params = _only(x)
    rows = x.query(
        f"SELECT * FROM campaign_overrides WHERE recorded_at < ?{where} ORDER BY campaign, version, id",
        [x.request.until, *params],
    )
    x.table("campaign_overrides", OVERRIDE_COLUMNS, ([r[c] for c in OVERRIDE_COLUMNS] for r in rows))


# (table that must exist, section) pairs for auditexport.EXTRA_SECTIONS
SECTIONS: list[tuple[str, Callable[[Exporter], None]]] = [
    ("campaign_versions", campaigns),
    ("campaign_overrides", overrides),
]
