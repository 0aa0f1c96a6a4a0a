"""The dial gate: reads the records at the instant of a dial and asks `compliance.decide`.

The dialer calls `check_dial` for every number it is about to dial, so a number suppressed a second ago
is not dialed. Everything the decision needs comes from one indexed query for the contact (with scalar
sub-queries for the lists), one for the newest national registry copy and one for this campaign's earlier
attempts to the number. Stored times are compared with `julianday()` because ISO texts with and without
fractional seconds do not sort correctly as text ('12:00:05.5Z' < '12:00:05Z').
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from . import compliance
from .campaign_store import StoredCampaign
from .compliance import ContactFacts, History, RegistryCopy
from .errors import UserError
from .timeutil import is_zone, to_iso

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
NATIONAL_LIST = "national"


@dataclass(frozen=True)
class DialCheck:
    allowed: bool
    reasons: tuple[str, ...]
    next_allowed_at: datetime | None
    zone: str  # the zone the local time is given in (the first checked)
    zone_source: str  # 'contact' (the contact's own field), 'number' (from the number), 'default'
    zones: tuple[str, ...]  # every zone checked
    local_time: datetime
    registry_version: str | None  # national copy checked (marketing only)
    rules_checked: tuple[str, ...]
    phone: str | None = None

    def as_dict(self) -> dict:
        return {
            "phone": self.phone,
            "allowed": self.allowed,
            "reasons": list(self.reasons),
            "next_allowed_at": to_iso(self.next_allowed_at) if self.next_allowed_at else None,
            "zone": self.zone,
            "zone_source": self.zone_source,
            "zones": list(self.zones),
            "local_time": self.local_time.isoformat(),
            "registry_version": self.registry_version,
            "rules_checked": list(self.rules_checked),
        }


_CONTACT = """
SELECT c.phone, c.timezone, c.number_zones,
  c.erased_at IS NOT NULL AND julianday(c.erased_at) <= julianday(:at),
  EXISTS (SELECT 1 FROM dnc_national n WHERE n.phone = c.phone),
  (SELECT d.added_at FROM dnc_internal d WHERE d.phone = c.phone AND julianday(d.added_at) <= julianday(:at)
     AND (d.removed_at IS NULL OR julianday(d.removed_at) > julianday(:at))
   ORDER BY julianday(d.added_at) DESC LIMIT 1),
  (SELECT o.effective_at FROM optouts o WHERE o.phone = c.phone AND julianday(o.effective_at) <= julianday(:at)
   ORDER BY julianday(o.effective_at) DESC LIMIT 1),
  (SELECT k.action FROM consents k WHERE k.phone = c.phone AND k.purpose = 'marketing'
     AND julianday(k.given_at) <= julianday(:at) ORDER BY julianday(k.given_at) DESC, k.id DESC LIMIT 1),
  (SELECT group_concat(s.reason, ';') FROM suppressions s
   WHERE s.phone = c.phone AND julianday(s.created_at) <= julianday(:at)),
  (SELECT p.paused FROM campaigns p WHERE p.name = :campaign)
FROM contacts c WHERE c.id = :id
"""
_REGISTRY = "SELECT version, registry_date FROM dnc_registry_loads WHERE list = ? ORDER BY id DESC LIMIT 1"
_ATTEMPTS = (
    "SELECT started_at, outcome FROM attempts WHERE phone = ? AND campaign = ? "
    "AND julianday(started_at) <= julianday(?)"
)
_CALLBACK = (
    "SELECT created_at FROM callbacks WHERE phone = ? AND requested_by_customer = 1 "
    "AND julianday(created_at) <= julianday(?) ORDER BY julianday(created_at) DESC LIMIT 1"
)


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def resolve_zones(phone: str, timezone: str | None, number_zones: str | None) -> tuple[tuple[str, ...], str]:
    """The zones to check and where they came from: the contact's own zone wins over the number's."""
    if timezone and is_zone(timezone):
        return (timezone,), "contact"
    try:
        zones = tuple(z for z in json.loads(number_zones or "[]") if is_zone(z))
    except (ValueError, TypeError):
        zones = ()
    if not zones and _E164.match(phone or ""):
        from .phones import InvalidNumber, normalize

        try:
            zones = tuple(z for z in normalize(phone).zones if is_zone(z))
        except InvalidNumber:
            zones = ()
    if zones:
        return zones, "number"
    return ("UTC",), "default"


def _valid(phone: str | None, history: History) -> bool:
    """E.164 shape, and no earlier attempt found the number does not exist."""
    return bool(_E164.match(phone or "")) and not any(a.outcome == "invalid" for a in history.attempts)


def registry_copy(conn: sqlite3.Connection) -> RegistryCopy | None:
    """The newest national do-not-call copy loaded (the one `dnc_national` holds)."""
    row = conn.execute(_REGISTRY, (NATIONAL_LIST,)).fetchone()
    return RegistryCopy(row[0], _utc(row[1])) if row else None


def check_dial(
    conn: sqlite3.Connection,
    campaign: StoredCampaign,
    contact_id: int,
    now: datetime,
    *,
    callback_requested: bool = False,
    records_at: datetime | None = None,
) -> DialCheck:
    """May `campaign` dial contact `contact_id` at `now`? Reads every record as it stands at that instant.

    `callback_requested`: the dial serves a callback; it lifts an opt-out (or internal DNC entry) only when
    a callback the customer asked for (`callbacks.requested_by_customer`) was recorded after it.
    `records_at` (preview only) reads the status records at another instant than the clock `now`.
    """
    now = now.astimezone(UTC)
    at = to_iso(records_at or now)
    row = conn.execute(_CONTACT, {"at": at, "id": contact_id, "campaign": campaign.name}).fetchone()
    if row is None:
        raise UserError(f"no contact with id {contact_id}")
    phone, timezone, number_zones, erased, on_national, dnc_since, optout_at, consent, suppressed, paused = (
        row
    )
    zones, source = resolve_zones(phone, timezone, number_zones)
    attempts = conn.execute(_ATTEMPTS, (phone, campaign.name, to_iso(now))).fetchall()
    history = History.of((_utc(started), outcome) for started, outcome in attempts)
    # erasure leaves a suppression behind; any other suppression acts as an internal DNC entry
    erased_suppression = "eras" in (suppressed or "").lower()
    other_suppression = bool(suppressed) and not erased_suppression
    asked = None
    if callback_requested and (optout_at or dnc_since or suppressed):
        found = conn.execute(_CALLBACK, (phone, at)).fetchone()
        asked = _utc(found[0]) if found else None
    marketing = campaign.kind == "marketing"
    registry = registry_copy(conn) if marketing else None
    facts = ContactFacts(
        phone=phone,
        zones=zones,
        valid_number=_valid(phone, history),
        erased=bool(erased) or erased_suppression,
        on_national_dnc=bool(on_national),
        registry=registry,
        internal_dnc_since=_utc(dnc_since) if dnc_since else (now if other_suppression else None),
        opted_out_at=_utc(optout_at) if optout_at else None,
        callback_requested_at=asked,
        marketing_consent=consent,
    )
    rules = campaign.rules()
    if paused is not None:  # the flag as it stands now, not as it was when the campaign was read
        rules = replace(rules, paused=bool(paused))
    decision = compliance.decide(facts, rules, history, now)
    return DialCheck(
        allowed=decision.allowed,
        reasons=decision.reasons,
        next_allowed_at=decision.next_allowed_at,
        zone=zones[0],
        zone_source=source,
        zones=zones,
        local_time=decision.local_time or now,
        registry_version=registry.version if registry else None,
        rules_checked=decision.rules_checked,
        phone=phone,
    )
