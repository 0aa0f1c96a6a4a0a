"""What stops a number being dialed at a given instant: do-not-call lists, opt-outs, erasure, consent.

These are the reads behind the dial-time decision (`dialgate.check_dial`). Each takes a connection, an
E.164 number and an instant `at`, and answers from the records whose time is at or before `at`, so a
number opted out a second ago is suppressed now, and an attempt can be re-checked later as it stood.

The national registry is the exception: only the current snapshot is kept (a registry copy holds millions
of numbers), so national membership and `registry_version` always describe the copy in force now, which
is the copy a dial made now checks. The load's `registry_date` lets the caller refuse a stale copy.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from .timeutil import from_iso

NATIONAL = "national"


@dataclass(frozen=True)
class SuppressionState:
    """Whether each do-not-call source covers a number at an instant, and the registry copy checked."""

    national: bool
    registry_version: str | None  # None: no national registry copy has been loaded
    registry_date: str | None  # the registry's own date of the copy (YYYY-MM-DD)
    registry_loaded_at: str | None
    internal: bool  # the company's own list (or a suppression kept for a reason other than erasure)
    opted_out: bool
    optout_at: str | None  # when the earliest opt-out took effect
    erased: bool

    @property
    def lists(self) -> list[str]:
        """The lists that suppress the number: national, internal, optout, erased."""
        flags = [("national", self.national), ("internal", self.internal)]
        flags += [("optout", self.opted_out), ("erased", self.erased)]
        return [name for name, on in flags if on]

    @property
    def suppressed(self) -> bool:
        return bool(self.lists)

    def registry_age(self, at: datetime) -> timedelta | None:
        """How old the registry copy is at `at` (from its registry date), None when none is loaded."""
        if self.registry_date is None:
            return None
        return at - from_iso(f"{self.registry_date}T00:00:00Z")


@dataclass(frozen=True)
class ConsentState:
    """The consent record in force for a number and purpose at an instant (the latest one wins)."""

    granted: bool
    revoked: bool
    at: str | None  # when the record in force was given
    source: str | None
    evidence: str | None = None


def _not_after(times: list[str], at: datetime) -> list[str]:
    # Stored times mix second and microsecond precision, so they are compared as instants, not as text.
    return [t for t in times if from_iso(t) <= at]


def current_load(conn: sqlite3.Connection, list_name: str = NATIONAL) -> sqlite3.Row | None:
    """The registry load whose snapshot is in force (the newest load of the list)."""
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(
            "SELECT * FROM dnc_registry_loads WHERE list = ? ORDER BY id DESC LIMIT 1", (list_name,)
        ).fetchone()
    finally:
        conn.row_factory = None


def suppression_state(conn: sqlite3.Connection, phone: str, at: datetime) -> SuppressionState:
    """Every do-not-call source for `phone` (E.164) as of `at` (an aware datetime)."""
    load = current_load(conn)
    national = load is not None and (
        conn.execute("SELECT 1 FROM dnc_national WHERE phone = ?", (phone,)).fetchone() is not None
    )
    internal = False
    for added_at, removed_at in conn.execute(
        "SELECT added_at, removed_at FROM dnc_internal WHERE phone = ?", (phone,)
    ):
        if from_iso(added_at) <= at and (removed_at is None or from_iso(removed_at) > at):
            internal = True
            break
    optouts = sorted(
        _not_after(
            [r[0] for r in conn.execute("SELECT effective_at FROM optouts WHERE phone = ?", (phone,))], at
        ),
        key=from_iso,
    )
    # Erasure leaves a suppression behind; a suppression for any other reason acts as an internal entry.
    kept = [
        reason
        for reason, created_at in conn.execute(
            "SELECT reason, created_at FROM suppressions WHERE phone = ?", (phone,)
        )
        if from_iso(created_at) <= at
    ]
    erased = any("eras" in (reason or "").lower() for reason in kept)
    internal = internal or any("eras" not in (reason or "").lower() for reason in kept)
    return SuppressionState(
        national=national,
        registry_version=load["version"] if load else None,
        registry_date=load["registry_date"] if load else None,
        registry_loaded_at=load["loaded_at"] if load else None,
        internal=internal,
        opted_out=bool(optouts),
        optout_at=optouts[0] if optouts else None,
        erased=erased,
    )


def consent_in_force(conn: sqlite3.Connection, phone: str, purpose: str, at: datetime) -> ConsentState:
    """The latest consent record for `phone` and `purpose` given at or before `at`.

    Latest means the latest `given_at`; records given at the same instant are ordered by when they were
    recorded (their id), so a revoke typed after a grant for the same moment wins.
    """
    rows = conn.execute(
        "SELECT id, action, given_at, source, evidence FROM consents WHERE phone = ? AND purpose = ?",
        (phone, purpose),
    ).fetchall()
    in_time = [r for r in rows if from_iso(r[2]) <= at]
    if not in_time:
        return ConsentState(granted=False, revoked=False, at=None, source=None)
    _, action, given_at, source, evidence = max(in_time, key=lambda r: (from_iso(r[2]), r[0]))
    return ConsentState(
        granted=action == "grant", revoked=action == "revoke", at=given_at, source=source, evidence=evidence
    )
