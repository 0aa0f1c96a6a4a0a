"""The few settings tickets and callbacks read, kept in the `settings` table with safe defaults.

Keys: `tickets.sla.KIND.PRIORITY` (a duration), `tickets.followup_delay`, `tickets.followup_campaign`,
`tickets.service_to_marketing_threshold`, `callbacks.owner_grace`, `callbacks.missed_grace`.
Every change is audited with its old and new value.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from .errors import UsageError, UserError
from .store import Store
from .timeutil import parse_duration

KINDS = ("inquiry", "complaint", "order", "return")
PRIORITIES = ("low", "normal", "high", "urgent")

# Time to resolve, by kind and priority: complaints are answered fastest, returns have the most room.
SLA_DEFAULTS: dict[str, dict[str, str]] = {
    "inquiry": {"urgent": "2h", "high": "8h", "normal": "1d", "low": "3d"},
    "complaint": {"urgent": "1h", "high": "4h", "normal": "1d", "low": "2d"},
    "order": {"urgent": "2h", "high": "8h", "normal": "1d", "low": "3d"},
    "return": {"urgent": "4h", "high": "1d", "normal": "3d", "low": "5d"},
}

DEFAULTS: dict[str, str] = {
    "tickets.followup_delay": "2d",
    "tickets.followup_campaign": "",
    "tickets.service_to_marketing_threshold": "",
    "callbacks.owner_grace": "30m",
    "callbacks.missed_grace": "1d",
}
for _kind, _row in SLA_DEFAULTS.items():
    for _priority, _value in _row.items():
        DEFAULTS[f"tickets.sla.{_kind}.{_priority}"] = _value

DURATION_KEYS = {k for k in DEFAULTS if k.startswith("tickets.sla.")} | {
    "tickets.followup_delay",
    "callbacks.owner_grace",
    "callbacks.missed_grace",
}


def get(conn: sqlite3.Connection, key: str) -> str:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row is not None else DEFAULTS[key]


def duration(conn: sqlite3.Connection, key: str) -> timedelta:
    return parse_duration(get(conn, key))


def threshold(conn: sqlite3.Connection) -> int | None:
    text = get(conn, "tickets.service_to_marketing_threshold")
    return int(text) if text else None


def validate(key: str, value: str) -> str:
    """The value to store, or a one-line UserError naming the key and what it takes."""
    if key not in DEFAULTS:
        known = ", ".join(k for k in sorted(DEFAULTS) if not k.startswith("tickets.sla."))
        raise UsageError(f"unknown setting {key!r}: use one of {known} or tickets.sla.KIND.PRIORITY")
    value = value.strip()
    if key in DURATION_KEYS:
        try:
            if parse_duration(value) <= timedelta(0):
                raise ValueError("not positive")
        except ValueError:
            raise UsageError(
                f"{key} {value!r} is not a positive duration of at most 3650d: use e.g. 30m, 4h, 2d"
            ) from None
    if (
        key == "tickets.service_to_marketing_threshold"
        and value
        and not (value.isdigit() and int(value) <= 100)
    ):
        raise UsageError(f"{key} {value!r} must be a whole number 0-100 (or empty for none)")
    return value


def put(store: Store, key: str, value: str) -> dict[str, str]:
    """Set one setting (audited); returns {"key", "old", "new"}."""
    return put_many(store, {key: value})[0]


def put_many(store: Store, values: dict[str, str]) -> list[dict[str, str]]:
    """Set several settings in one transaction (audited each), checked together: `--owner 2d --missed 3d`
    is a valid pair even while the stored missed grace is 1d, and a refusal changes none of them."""
    values = {key: validate(key, value) for key, value in values.items()}
    changes: list[dict[str, str]] = []
    with store.write() as conn:
        campaign = values.get("tickets.followup_campaign")
        if (
            campaign
            and conn.execute("SELECT 1 FROM campaigns WHERE name = ?", (campaign,)).fetchone() is None
        ):
            raise UserError(
                f"unknown campaign {campaign!r}: load it with `cctool campaign load FILE.yaml` first"
            )
        if {"callbacks.owner_grace", "callbacks.missed_grace"} & set(values):
            owner = values.get("callbacks.owner_grace") or get(conn, "callbacks.owner_grace")
            missed = values.get("callbacks.missed_grace") or get(conn, "callbacks.missed_grace")
            if parse_duration(missed) <= parse_duration(owner):
                raise UserError(
                    f"callbacks.missed_grace ({missed}) must be longer than callbacks.owner_grace ({owner}): "
                    "a callback is marked missed only after anyone may claim it"
                )
        for key, value in values.items():
            old = get(conn, key)
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
            store.audit("setting", key, "set", {"old": old, "new": value})
            changes.append({"key": key, "old": old, "new": value})
    return changes


def sla_key(kind: str, priority: str) -> str:
    if kind not in KINDS:
        raise UsageError(f"ticket kind {kind!r} is not one of {', '.join(KINDS)}")
    if priority not in PRIORITIES:
        raise UsageError(f"priority {priority!r} is not one of {', '.join(PRIORITIES)}")
    return f"tickets.sla.{kind}.{priority}"


def sla_table(conn: sqlite3.Connection) -> dict[str, dict[str, str]]:
    return {k: {p: get(conn, sla_key(k, p)) for p in PRIORITIES} for k in KINDS}


def all_settings(conn: sqlite3.Connection) -> dict[str, str]:
    return {key: get(conn, key) for key in sorted(DEFAULTS)}
