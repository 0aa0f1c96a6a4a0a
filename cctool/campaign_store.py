"""Stored campaigns: versions with their text and SHA-256, overrides, the pause flag.

A campaign's effective figures are columns of `campaign_versions`, so the dialer, preview and the audit
export read them without parsing YAML again; `StoredCampaign.rules()` turns them into the
`compliance.CampaignPolicy` the decision takes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from .campaign import Campaign
from .compliance import WEEKDAYS, CampaignPolicy
from .errors import UserError
from .store import Store
from .timeutil import to_iso, utcnow


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


@dataclass(frozen=True)
class LoadResult:
    name: str
    version: int
    added: bool  # False: the same text (and script) as the current version; nothing stored
    sha256: str
    overrides: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.name,
            "version": self.version,
            "added": self.added,
            "sha256": self.sha256,
            "overrides": self.overrides,
        }


def load(store: Store, campaign: Campaign) -> LoadResult:
    """Store a validated campaign as a new version, unless its text and script equal the current version's."""
    digest = hashlib.sha256(campaign.text.encode("utf-8")).hexdigest()
    now = to_iso(utcnow())
    with store.write() as conn:
        current = conn.execute(
            "SELECT v.version, v.sha256, v.script_sha256 FROM campaigns c JOIN campaign_versions v "
            "ON v.campaign = c.name AND v.version = c.current_version WHERE c.name = ?",
            (campaign.name,),
        ).fetchone()
        if current and current[1] == digest and current[2] == campaign.columns["script_sha256"]:
            return LoadResult(campaign.name, current[0], False, digest, len(campaign.overrides))
        version = (current[0] + 1) if current else 1
        if current:
            conn.execute(
                "UPDATE campaigns SET kind = ?, current_version = ?, updated_at = ? WHERE name = ?",
                (campaign.kind, version, now, campaign.name),
            )
        else:
            conn.execute(
                "INSERT INTO campaigns (name, kind, current_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                (campaign.name, campaign.kind, version, now, now),
            )
        row = {
            "campaign": campaign.name,
            "version": version,
            "sha256": digest,
            "text": campaign.text,
            "file_name": campaign.file_name,
            "loaded_at": now,
            "actor": store.actor,
            **campaign.columns,
        }
        conn.execute(
            f"INSERT INTO campaign_versions ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
        for item in campaign.overrides:
            conn.execute(
                "INSERT INTO campaign_overrides (campaign, version, rule, preset_value, value, reason, recorded_at, "
                "actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    campaign.name,
                    version,
                    item.rule,
                    item.preset_value,
                    item.value,
                    item.reason,
                    now,
                    store.actor,
                ),
            )
        store.audit(
            "campaign",
            campaign.name,
            "load",
            {
                "version": version,
                "sha256": digest,
                "file_name": campaign.file_name,
                "script": campaign.columns["script"],
                "script_sha256": campaign.columns["script_sha256"],
                "policy": campaign.policy,
                "overrides": [o.__dict__ for o in campaign.overrides],
            },
        )
    return LoadResult(campaign.name, version, True, digest, len(campaign.overrides))


def set_paused(store: Store, name: str, paused: bool) -> bool:
    """Pause or resume a campaign (effective for the very next dial); False when it already was so."""
    with store.write() as conn:
        found = get(conn, name)
        if found.paused == paused:
            return False
        now = to_iso(utcnow())
        conn.execute(
            "UPDATE campaigns SET paused = ?, paused_at = ?, paused_by = ?, updated_at = ? WHERE name = ?",
            (int(paused), now if paused else None, store.actor if paused else None, now, name),
        )
        store.audit("campaign", name, "pause" if paused else "resume", {"version": found.version})
    return True
