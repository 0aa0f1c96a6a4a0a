"""A simulated 30-day campaign written straight into the database, for the audit export's tests.

Rows go in by SQL (as the dialer, campaigns, DNC and ticket code would leave them), so the export is
tested on its own. The data is clean: every attempt respects hours, opt-outs, the internal list, the
registry copy, consent, caps and the abandonment cap. `plant_*` helpers then add one violating row each.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cctool.store import Store
from cctool.timeutil import to_iso

START = date(2026, 10, 1)  # a Thursday; US daylight saving time holds all month
DAYS = 30
END = START + timedelta(days=DAYS - 1)
ZONES = [
    ("+1212555", "America/New_York"),
    ("+1312555", "America/Chicago"),
    ("+1415555", "America/Los_Angeles"),
]
CONTACTS = 60
SPARE = range(50, 55)  # consented, never dialled: free for planted rows
ON_REGISTRY = range(55, 60)  # on the national registry copy: never dialled
REGISTRY_LOADS = [START - timedelta(days=3) + timedelta(days=7 * k) for k in range(5)]
OPTOUT_ON_CALL, OPTOUT_WEB, ON_INTERNAL_DNC, CONSENT_REVOKED, DNC_REQUEST = 5, 6, 7, 8, 9
STOP_REASON = {ON_INTERNAL_DNC: "dnc_internal", CONSENT_REVOKED: "no_consent;consent_revoked"}
DIGITS_NOTE = "customer asked to be called on +12125550042 instead"


@dataclass
class Contact:
    id: int
    phone: str
    zone: str
    stopped_at: datetime | None = None  # opted out, internal DNC or consent revoked from here on


@dataclass
class Built:
    contacts: list[Contact]
    attempts: int = 0
    attempts_by_campaign: dict[str, int] = field(default_factory=dict)
    blocked: int = 0
    next_attempt_id: int = 1


def _t(moment: datetime) -> str:
    return to_iso(moment)


def _version_row(name: str, version: int, kind: str, policy: str, **figures: object) -> dict[str, object]:
    row: dict[str, object] = {
        "campaign": name,
        "version": version,
        "sha256": f"{name}-{version}".encode().hex().ljust(64, "0")[:64],
        "text": f"name: {name}\n",
        "file_name": f"{name}.yaml",
        "loaded_at": _t(datetime.combine(START - timedelta(days=2), time(12), UTC)),
        "actor": "ops-anna",
        "kind": kind,
        "policy": policy,
        "seller": "Acme Broadband Ltd",
        "purpose": "broadband renewal" if kind == "marketing" else "complaint follow-up",
        "caller_id": "+14155550100",
        "hours_start": "09:00",
        "hours_end": "20:00",
        "days": "mon,tue,wed,thu,fri,sat",
        "cap_per_day": 2,
        "cap_24h": 3,
        "cap_total": None,
        "min_gap_s": 3600,
        "abandon_cap": 0.03,
        "abandon_window": "30d",
        "abandon_lock_s": 0,
        "registry_max_age_s": 31 * 86400,
        "dial_mode": "predictive",
        "script": f"{kind}.j2",
        "script_sha256": f"script-{name}-{version}".encode().hex().ljust(64, "0")[:64],
        "script_text": "Hello {{ name }}",
        "definition": json.dumps({"name": name, "kind": kind, "policy": policy}),
    }
    row.update(figures)
    return row


def _insert(store: Store, table: str, row: dict[str, object]) -> int:
    cursor = store.conn.execute(
        f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
    )
    return int(cursor.lastrowid or 0)


def registry_version_at(moment: datetime) -> str:
    loaded = [d for d in REGISTRY_LOADS if datetime.combine(d, time(6), UTC) <= moment]
    return loaded[-1].isoformat()


def attempt_row(
    built: Built,
    contact: Contact,
    campaign: str,
    version: int,
    started: datetime,
    outcome: str,
    **extra: object,
) -> dict[str, object]:
    """An attempt as the dialer records it, with the zone and local time of the called party."""
    local = started.astimezone(ZoneInfo(contact.zone))
    answered = outcome in ("answered", "abandoned")
    ring = 12.0 if answered else 25.0
    talk = 95.0 if outcome == "answered" else 0.0
    row: dict[str, object] = {
        "id": built.next_attempt_id,
        "campaign": campaign,
        "campaign_version": version,
        "contact_id": contact.id,
        "phone": contact.phone,
        "started_at": _t(started),
        "ended_at": _t(started + timedelta(seconds=ring + talk)),
        "local_time": local.isoformat(),
        "zone": contact.zone,
        "zone_source": "number",
        "zones": contact.zone,
        "caller_id": "+14155550100",
        "registry_version": registry_version_at(started) if campaign == "renewal" else "",
        "rules_checked": "hours;dnc_internal;optout;consent;registry;caps",
        "trunk": "mock",
        "outcome": outcome,
        "disposition": "not_interested" if outcome == "answered" else None,
        "ring_s": ring,
        "talk_s": talk,
        "agent": "agent-1" if outcome == "answered" else None,
        "connect_delay_s": 0.4 if outcome == "answered" else (2.5 if outcome == "abandoned" else None),
        "abandoned": int(outcome == "abandoned"),
        "safe_harbour": int(outcome == "abandoned"),
        "sip_code": 200 if answered else 486,
        "script": "marketing.j2" if campaign == "renewal" else "followup.j2",
        "script_version": "ab" * 32,
    }
    row.update(extra)
    built.next_attempt_id += 1
    return row


def build(store: Store, seed: int = 7) -> Built:
    """Two campaigns over 30 days: 'renewal' (marketing, us, 30-day abandonment) and 'care' (followup)."""
    rng = random.Random(seed)
    contacts = [Contact(i + 1, f"{ZONES[i % 3][0]}{i:04d}", ZONES[i % 3][1]) for i in range(CONTACTS)]
    built = Built(contacts)
    with store.write():
        store.audit("test", None, "build_30_day_campaign", {"seed": seed})
        created = _t(datetime.combine(START - timedelta(days=40), time(9), UTC))
        for c in contacts:
            _insert(
                store,
                "contacts",
                {
                    "id": c.id,
                    "phone": c.phone,
                    "region": "US",
                    "number_zones": json.dumps([c.zone]),
                    "name": f"Customer {c.id}",
                    "created_at": created,
                    "updated_at": created,
                },
            )
            _insert(
                store,
                "consents",
                {
                    "phone": c.phone,
                    "purpose": "marketing",
                    "action": "grant",
                    "source": "web-form",
                    "evidence": f"form-{c.id}",
                    "given_at": _t(datetime.combine(START - timedelta(days=30), time(10), UTC)),
                    "recorded_at": created,
                    "actor": "import",
                },
            )
        for name, kind in (("renewal", "marketing"), ("care", "followup")):
            _insert(
                store,
                "campaigns",
                {
                    "name": name,
                    "kind": kind,
                    "current_version": 2 if name == "renewal" else 1,
                    "created_at": created,
                    "updated_at": created,
                },
            )
        _insert(store, "campaign_versions", _version_row("renewal", 1, "marketing", "us"))
        _insert(
            store, "campaign_versions", _version_row("renewal", 2, "marketing", "us", script_sha256="cd" * 32)
        )
        _insert(
            store,
            "campaign_versions",
            _version_row(
                "care", 1, "followup", "uk", cap_per_day=1, abandon_window="day", days="mon,tue,wed,thu,fri"
            ),
        )
        _insert(
            store,
            "campaign_overrides",
            {
                "campaign": "renewal",
                "version": 2,
                "rule": "registry_max_age_s",
                "preset_value": str(31 * 86400),
                "value": str(32 * 86400),
                "reason": "registry supplier one day late; approved by compliance",
                "recorded_at": _t(datetime.combine(START + timedelta(days=14), time(12), UTC)),
                "actor": "compliance-li",
            },
        )
        for k, day in enumerate(REGISTRY_LOADS):
            _insert(
                store,
                "dnc_registry_loads",
                {
                    "list": "national",
                    "version": day.isoformat(),
                    "registry_date": day.isoformat(),
                    "loaded_at": _t(datetime.combine(day, time(6), UTC)),
                    "count": 1000 + k,
                    "sha256": f"{k:x}" * 64,
                    "file_name": f"national-{day}.csv",
                    "actor": "ops-anna",
                },
            )
        for i in ON_REGISTRY:
            store.conn.execute("INSERT INTO dnc_national (phone) VALUES (?)", (contacts[i].phone,))
        store.conn.execute("INSERT INTO dnc_national (phone) VALUES ('+12125559999')")
        _stops(store, built)
        _dial(store, built, rng)
        _tickets(store, built)
    return built


def _stops(store: Store, built: Built) -> None:
    """Opt-outs (by phone and web), an internal DNC entry and a revoked consent, mid-period."""
    c = built.contacts
    on_call = datetime.combine(START + timedelta(days=9), time(14), UTC)
    web = datetime.combine(START + timedelta(days=11), time(8), UTC)
    for contact, at, channel, lag in (
        (c[OPTOUT_ON_CALL], on_call, "call", 0),
        (c[OPTOUT_WEB], web, "web", 2),
    ):
        _insert(
            store,
            "optouts",
            {
                "phone": contact.phone,
                "channel": channel,
                "source": "cli",
                "requested_at": _t(at),
                "effective_at": _t(at + timedelta(seconds=lag)),
                "actor": "agent-2",
            },
        )
        contact.stopped_at = at
    dnc_at = datetime.combine(START + timedelta(days=7), time(15), UTC)
    _insert(
        store,
        "dnc_internal",
        {
            "phone": c[ON_INTERNAL_DNC].phone,
            "reason": "complaint",
            "added_at": _t(dnc_at),
            "added_by": "sup-bo",
        },
    )
    # an entry opened and closed before the period: it must not count
    old = datetime.combine(START - timedelta(days=20), time(9), UTC)
    _insert(
        store,
        "dnc_internal",
        {
            "phone": c[12].phone,
            "reason": "mistake",
            "added_at": _t(old),
            "added_by": "sup-bo",
            "removed_at": _t(old + timedelta(days=1)),
            "removed_by": "sup-bo",
        },
    )
    c[ON_INTERNAL_DNC].stopped_at = dnc_at
    revoked = datetime.combine(START + timedelta(days=14), time(16), UTC)
    _insert(
        store,
        "consents",
        {
            "phone": c[CONSENT_REVOKED].phone,
            "purpose": "marketing",
            "action": "revoke",
            "source": "email",
            "evidence": "mail-8812",
            "given_at": _t(revoked),
            "recorded_at": _t(revoked),
            "actor": "agent-3",
        },
    )
    c[CONSENT_REVOKED].stopped_at = revoked


def _dial(store: Store, built: Built, rng: random.Random) -> None:
    live = 0
    rows: list[dict[str, object]] = []
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        if day.weekday() == 6:
            continue
        version = 1 if offset < 15 else 2
        for contact in built.contacts[:50]:
            if rng.random() >= 0.5:
                continue
            local_start = datetime.combine(day, time(10), ZoneInfo(contact.zone))
            first = local_start + timedelta(minutes=rng.randrange(180))
            times = [first] + ([first + timedelta(hours=3)] if rng.random() < 0.3 else [])
            for started in (t.astimezone(UTC) for t in times):
                if contact.stopped_at is not None and started >= contact.stopped_at:
                    built.blocked += 1
                    _insert(
                        store,
                        "blocked_dials",
                        {
                            "campaign": "renewal",
                            "campaign_version": version,
                            "contact_id": contact.id,
                            "phone": contact.phone,
                            "at": _t(started),
                            "reasons": STOP_REASON.get(contact.id - 1, "opted_out"),
                        },
                    )
                    continue
                draw = rng.random()
                outcome = (
                    "answered"
                    if draw < 0.45
                    else "no_answer"
                    if draw < 0.75
                    else "busy"
                    if draw < 0.85
                    else "voicemail"
                )
                if outcome == "answered":
                    live += 1
                    if live % 60 == 0:
                        outcome = "abandoned"
                row = attempt_row(built, contact, "renewal", version, started, outcome)
                if contact.id - 1 == DNC_REQUEST and offset == 11 and outcome == "answered":
                    row["disposition"] = "dnc_request"
                    ended = datetime.fromisoformat(str(row["ended_at"]).replace("Z", "+00:00"))
                    _insert(
                        store,
                        "optouts",
                        {
                            "phone": contact.phone,
                            "channel": "call",
                            "source": "dialer",
                            "requested_at": _t(ended),
                            "effective_at": _t(ended),
                            "actor": "agent-1",
                        },
                    )
                    contact.stopped_at = ended
                rows.append(row)
        if day.weekday() < 5:  # care: weekdays, one call a day, contacts 20-29
            for contact in built.contacts[20:30]:
                if rng.random() < 0.4:
                    started = datetime.combine(day, time(15), ZoneInfo(contact.zone)).astimezone(UTC)
                    rows.append(
                        attempt_row(built, contact, "care", 1, started, "answered", disposition="resolved")
                    )
    for row in rows:
        _insert(store, "attempts", row)
        name = str(row["campaign"])
        built.attempts_by_campaign[name] = built.attempts_by_campaign.get(name, 0) + 1
    built.attempts = len(rows)


def _tickets(store: Store, built: Built) -> None:
    c = built.contacts
    for n, (kind, contact) in enumerate((("complaint", c[21]), ("inquiry", c[3]), ("order", c[4])), start=1):
        created = datetime.combine(START + timedelta(days=2 + n), time(13), UTC)
        ticket = _insert(
            store,
            "tickets",
            {
                "phone": contact.phone,
                "contact_id": contact.id,
                "kind": kind,
                "subject": f"{kind} from {contact.phone}",
                "body": DIGITS_NOTE,
                "status": "resolved" if n == 1 else "open",
                "created_at": _t(created),
                "updated_at": _t(created + timedelta(days=1)),
                "resolved_at": _t(created + timedelta(days=1)) if n == 1 else None,
                "created_by": "agent-2",
            },
        )
        _insert(
            store,
            "ticket_events",
            {"ticket_id": ticket, "at": _t(created), "actor": "agent-2", "event": "created"},
        )
        _insert(
            store,
            "ticket_events",
            {
                "ticket_id": ticket,
                "at": _t(created + timedelta(hours=2)),
                "actor": "agent-2",
                "event": "note",
                "note": DIGITS_NOTE,
                "ref": json.dumps({"campaign": "care"}) if n == 1 else None,
            },
        )
        _insert(
            store,
            "callbacks",
            {
                "phone": contact.phone,
                "contact_id": contact.id,
                "due_at": _t(created + timedelta(days=1)),
                "tz": contact.zone,
                "campaign": "care" if n == 1 else "renewal",
                "ticket_id": ticket,
                "status": "done",
                "note": DIGITS_NOTE,
                "requested_by_customer": 1,
                "created_at": _t(created),
                "created_by": "agent-2",
                "done_at": _t(created + timedelta(days=1, minutes=5)),
            },
        )


# Planted violations: each inserts rows breaking one rule and returns the attempt ids it added. ------


def plant_attempts(
    store: Store, built: Built, contact: Contact, moments: list[datetime], **extra: object
) -> list[int]:
    with store.write():
        ids = []
        for moment in moments:
            version = 1 if moment.date() < START + timedelta(days=15) else 2
            row = attempt_row(built, contact, "renewal", version, moment, "no_answer", **extra)
            _insert(store, "attempts", row)
            ids.append(int(str(row["id"])))
    return ids


def local(contact: Contact, day_offset: int, hour: int, minute: int = 0) -> datetime:
    """A moment given in the called party's own zone."""
    return datetime.combine(
        START + timedelta(days=day_offset), time(hour, minute), ZoneInfo(contact.zone)
    ).astimezone(UTC)
