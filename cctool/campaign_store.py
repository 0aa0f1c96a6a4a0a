"""Stored campaigns: versions with their text and SHA-256, overrides, the pause flag.

A campaign's effective figures are columns of `campaign_versions`, so the dialer, preview and the audit
export read them without parsing YAML again; `StoredCampaign.rules()` turns them into the
`compliance.CampaignPolicy` the decision takes.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from .compliance import WEEKDAYS, CampaignPolicy
from .errors import UserError


@dataclass(frozen=True)
class StoredCampaign:
    name: str
    version: int
    kind: str
    policy: str
    paused: bool
    definition: dict[str, Any]
    script_sha256: str | None
    sha256: str
    caller_id: str | None
    seller: str | None
    purpose: str | None
    hours_start: str
    hours_end: str
    days: tuple[str, ...]
    cap_per_day: int | None
    cap_24h: int | None
    cap_total: int | None
    min_gap_s: int | None
    abandon_cap: float
    abandon_window: str
    abandon_lock_s: int
    registry_max_age_s: int | None
    dial_mode: str
    script: str | None
    script_text: str | None
    loaded_at: str
    file_name: str | None

    def rules(self) -> CampaignPolicy:
        """The effective rules of this version for `compliance.decide`."""
        return CampaignPolicy(
            kind=self.kind,
            preset=self.policy,
            hours_start=_clock(self.hours_start),
            hours_end=_clock(self.hours_end),
            days=frozenset(self.days),
            cap_per_day=self.cap_per_day,
            cap_24h=self.cap_24h,
            cap_total=self.cap_total,
            min_gap=timedelta(seconds=self.min_gap_s) if self.min_gap_s is not None else None,
            abandon_lock=timedelta(seconds=self.abandon_lock_s or 0),
            registry_max_age=(
                timedelta(seconds=self.registry_max_age_s) if self.registry_max_age_s is not None else None
            ),
            caller_id=self.caller_id,
            paused=self.paused,
        )


def _clock(text: str) -> time:
    hours, minutes = text.split(":")[:2]
    return time(int(hours), int(minutes))


_SELECT = """
SELECT c.name, v.version, v.kind, v.policy, c.paused, v.definition, v.script_sha256, v.sha256, v.caller_id,
       v.seller, v.purpose, v.hours_start, v.hours_end, v.days, v.cap_per_day, v.cap_24h, v.cap_total,
       v.min_gap_s, v.abandon_cap, v.abandon_window, v.abandon_lock_s, v.registry_max_age_s, v.dial_mode,
       v.script, v.script_text, v.loaded_at, v.file_name
FROM campaigns c JOIN campaign_versions v ON v.campaign = c.name
"""


def _from_row(row: sqlite3.Row | tuple) -> StoredCampaign:
    values = list(row)
    values[4] = bool(values[4])
    values[5] = json.loads(values[5])
    values[13] = tuple(d for d in (values[13] or "").split(",") if d in WEEKDAYS)
    return StoredCampaign(*values)


def get(conn: sqlite3.Connection, name: str, version: int | None = None) -> StoredCampaign:
    """The campaign's current version (or the given one), with the pause flag as it stands now."""
    if version is None:
        row = conn.execute(
            _SELECT + " WHERE c.name = ? AND v.version = c.current_version", (name,)
        ).fetchone()
    else:
        row = conn.execute(_SELECT + " WHERE c.name = ? AND v.version = ?", (name, version)).fetchone()
    if row is None:
        known = conn.execute("SELECT 1 FROM campaigns WHERE name = ?", (name,)).fetchone()
        if known is not None:
            raise UserError(f"campaign {name!r} has no version {version}: see `cctool campaign show {name}`")
        raise UserError(f"no campaign named {name!r}: load it with `cctool campaign load FILE.yaml`")
    return _from_row(row)


def list_campaigns(conn: sqlite3.Connection) -> list[StoredCampaign]:
    """Every campaign at its current version, by name."""
    rows = conn.execute(_SELECT + " WHERE v.version = c.current_version ORDER BY c.name").fetchall()
    return [_from_row(r) for r in rows]


def versions(conn: sqlite3.Connection, name: str) -> list[dict[str, Any]]:
    """The version history of a campaign: number, SHA-256, when and by whom it was loaded."""
    get(conn, name)
    rows = conn.execute(
        "SELECT version, sha256, file_name, loaded_at, actor FROM campaign_versions WHERE campaign = ? "
        "ORDER BY version",
        (name,),
    ).fetchall()
    return [dict(zip(("version", "sha256", "file_name", "loaded_at", "actor"), r)) for r in rows]


def overrides(conn: sqlite3.Connection, name: str, version: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT rule, preset_value, value, reason, recorded_at, actor FROM campaign_overrides "
        "WHERE campaign = ? AND version = ? ORDER BY id",
        (name, version),
    ).fetchall()
    return [dict(zip(("rule", "preset_value", "value", "reason", "recorded_at", "actor"), r)) for r in rows]
