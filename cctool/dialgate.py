"""The dial gate: reads the records at the instant of a dial and asks `compliance.decide`.

The dialer calls `check_dial` for every number it is about to dial, so a number suppressed a second ago
is not dialed. Everything the decision needs comes from one indexed query for the contact (with scalar
sub-queries for the lists), one for the newest national registry copy and one for this campaign's earlier
attempts to the number. Stored times are compared with `julianday()` because ISO texts with and without
fractional seconds do not sort correctly as text ('12:00:05.5Z' < '12:00:05Z').
"""

from __future__ import annotations

import json
import mmap
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from . import compliance
from .campaign_store import StoredCampaign
from .compliance import US, Attempt, ContactFacts, History, QuickCheck, RegistryCopy, instant
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

    def row_fields(self) -> tuple[str, str, str, str, str, str]:
        """(local time, zone, zone source, zones, registry version, rules checked) as an attempt row holds them."""
        return (self.local_time.isoformat(), self.zone, self.zone_source, ";".join(self.zones),
                self.registry_version or "", ";".join(self.rules_checked))  # fmt: skip

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
    "SELECT started_at, outcome FROM attempts WHERE phone = ? AND +campaign = ? "
    "AND julianday(started_at) <= julianday(?)"
)
_CALLBACK = (
    "SELECT created_at FROM callbacks WHERE phone = ? AND requested_by_customer = 1 "
    "AND julianday(created_at) <= julianday(?) ORDER BY julianday(created_at) DESC LIMIT 1"
)


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _field_zones(timezone: str | None, number_zones: str | None) -> tuple[tuple[str, ...], str] | None:
    """The zones the contact's own fields give (its zone, else its number's zones), None when neither does."""
    if timezone and is_zone(timezone):
        return (timezone,), "contact"
    try:
        zones = tuple(z for z in json.loads(number_zones or "[]") if is_zone(z))
    except (ValueError, TypeError):
        zones = ()
    return (zones, "number") if zones else None


def resolve_zones(phone: str, timezone: str | None, number_zones: str | None) -> tuple[tuple[str, ...], str]:
    """The zones to check and where they came from: the contact's own zone wins over the number's."""
    found = _field_zones(timezone, number_zones)
    if found is not None:
        return found
    zones: tuple[str, ...] = ()
    if _E164.match(phone or ""):
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
    history = History.of([(_utc(started), outcome) for started, outcome in attempts])
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


# --- the same decision for a whole run: facts loaded per claimed block, re-read only when they changed --
def _ms(moment: datetime) -> int:
    """The instant as SQLite's `julianday()` compares it: whole milliseconds, rounded half up."""
    delta = moment - _EPOCH
    return ((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds + 500) // 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _key(text: str) -> int:
    return _ms(_utc(text))


def _us(text: str) -> int:
    """A stored time as microseconds since the Unix epoch."""
    return (_utc(text) - _EPOCH) // US


_NEVER = 1 << 62  # a key later than any instant
_ZONES: dict[tuple[str | None, str | None], tuple[tuple[str, ...], str, str]] = {}  # (zones, source, text)


class _Facts:
    """One contact's records as loaded, with each time as its comparison key (see `_ms`)."""

    __slots__ = (
        "phone",
        "zones",
        "source",
        "erased_key",
        "national",
        "dnc",
        "optouts",
        "consents",
        "suppressions",
        "quick_from",
        "zones_text",
    )

    def __init__(self, phone: str, timezone: str | None, number_zones: str | None, erased_at: str | None):
        self.phone = phone
        key = (timezone, number_zones)
        found = _ZONES.get(key)
        if found is None:  # the same few zone fields come back for thousands of contacts
            fields = _field_zones(timezone, number_zones)
            if fields is None:  # from the number itself
                zones, source = resolve_zones(phone, timezone, number_zones)
                found = (zones, source, ";".join(zones))
            else:
                found = (*fields, ";".join(fields[0]))
                if len(_ZONES) < 4096:
                    _ZONES[key] = found
        self.zones, self.source, self.zones_text = found
        self.quick_from = _NEVER
        self.erased_key = _key(erased_at) if erased_at is not None else None
        self.national = False
        # the records, rare: a shared empty tuple until one is found (then a list)
        self.dnc: Sequence[tuple[int, int | None, str]] = ()  # (added, removed, added_at text)
        self.optouts: Sequence[tuple[int, str]] = ()  # (effective, effective_at text)
        self.consents: Sequence[tuple[int, int, str]] = ()  # (given, id, action)
        self.suppressions: Sequence[tuple[int, str]] = ()  # (created, reason)

    def settle(self, marketing: bool) -> None:
        """From which instant (key) no record of the party stands against a call, for `QuickCheck`.

        Only a party with no list entry, opt-out, suppression or erasure and a valid number qualifies; for
        marketing, also not on the national list and with its latest consent a grant (in force from then)."""
        self.quick_from = _NEVER
        if self.erased_key is not None or self.dnc or self.optouts or self.suppressions:
            return
        if not _E164.match(self.phone or ""):
            return
        if not marketing:
            self.quick_from = -_NEVER
            return
        if self.national or not self.consents:
            return
        given, _, action = max(self.consents, key=lambda c: (c[0], c[1]))
        if action == "grant":
            self.quick_from = given


class RunCheck:
    """An allowed `DialCheck` proven by `Gate.check_at`: the same fields, the local time kept as its text
    (`local_iso`) and turned into a datetime only when asked for. `as_check()` gives the `DialCheck`."""

    __slots__ = ("_facts", "_shared", "us", "local_iso")
    allowed = True
    reasons: tuple[str, ...] = ()
    next_allowed_at = None

    def __init__(
        self, facts: _Facts, shared: tuple[str | None, tuple[str, ...], str], us: int, local_iso: str
    ):
        self._facts, self._shared, self.us, self.local_iso = facts, shared, us, local_iso

    @property
    def zone(self) -> str:
        return self._facts.zones[0]

    @property
    def zone_source(self) -> str:
        return self._facts.source

    @property
    def zones(self) -> tuple[str, ...]:
        return self._facts.zones

    @property
    def phone(self) -> str:
        return self._facts.phone

    @property
    def registry_version(self) -> str | None:
        return self._shared[0]

    @property
    def rules_checked(self) -> tuple[str, ...]:
        return self._shared[1]

    @property
    def local_time(self) -> datetime:
        return instant(self.us).astimezone(compliance._zone(self._facts.zones[0]))

    def row_fields(self) -> tuple[str, str, str, str, str, str]:
        """(local time, zone, zone source, zones, registry version, rules checked) as an attempt row holds them."""
        facts, shared = self._facts, self._shared
        return self.local_iso, facts.zones[0], facts.source, facts.zones_text, shared[0] or "", shared[2]

    def as_check(self) -> DialCheck:
        facts, shared = self._facts, self._shared
        return DialCheck(
            allowed=True, reasons=(), next_allowed_at=None, zone=facts.zones[0], zone_source=facts.source,
            zones=facts.zones, local_time=self.local_time, registry_version=shared[0], rules_checked=shared[1],
            phone=facts.phone,
        )  # fmt: skip


_WAL_HEADERS = 96  # the two copies of the WAL-index header at the start of the -shm file


def wal_index_view(conn: sqlite3.Connection) -> mmap.mmap | None:
    """A read-only view of the WAL-index header of the connection's database, None when there is none.

    In WAL mode every committed transaction, from any connection, rewrites this header (its change counter
    and last frame) before other connections can see the commit: while its bytes stay the same, nothing
    was committed and `PRAGMA data_version` need not be asked. Reading 96 shared bytes costs a tenth of
    that query, which the gate would otherwise run at every dial."""
    try:
        if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            return None
        path = next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"), "")
        if not path:
            return None
        shm = f"{path}-shm"
        stat = os.stat(shm)  # a stat opens no descriptor
        key = (stat.st_dev, stat.st_ino)
        found = _WAL_VIEWS.get(key)
        if found is None:
            descriptor = os.open(shm, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            found = _WAL_VIEWS[key] = (
                descriptor,
                mmap.mmap(descriptor, _WAL_HEADERS, access=mmap.ACCESS_READ),
            )
        return found[1]
    except (OSError, ValueError, sqlite3.Error):
        return None


# Each view, and the descriptor it was made from, stays open for the life of the process. Closing any
# descriptor of the -shm file releases every POSIX lock this process holds on it (fcntl locks belong to
# the process and the file, not to the descriptor), SQLite's included: the next process to open the
# database would then find nobody using the WAL index and reinitialise it under this process's mapping
# (SIGBUS, or a WAL index read as empty). A file is mapped once, keyed by device and inode.
_WAL_VIEWS: dict[tuple[int, int], tuple[int, mmap.mmap]] = {}


_GATE_CHUNK = 400  # ids per IN (...) list, under SQLite's variable limit


class Gate:
    """`check_dial` for one run, giving the identical `DialCheck`, without re-running every query per dial.

    A run dials thousands of contacts it has claimed. Their records are read once, for the whole claimed
    block (`load`), and kept with this campaign's earlier attempts to each number. At the dial only the
    time-dependent part is evaluated (which opt-out, list entry, consent or suppression is in force at that
    instant) before the pure `compliance.decide`. The loaded records are current as long as nobody wrote
    them since:

    * another connection (another process, the CLI adding an opt-out) committing anything changes
      SQLite's `PRAGMA data_version` on this connection: every loaded record is then read again;
    * this connection's own writes are not seen by `data_version`, so the run reports them: the attempts
      it makes (`note_attempt`, counted at once and kept across re-reads until `written()`), the
      opt-outs it writes (`forget`, the contact is read again at its next dial), then `mine()`. Any other
      change made through this connection (`total_changes` moved otherwise) also has every record read
      again. `data_version` itself is asked only when the WAL-index header changed (`wal_index_view`).

    The common allowed dial is proven by `check_at` with `compliance.QuickCheck`; the rest is `decide`.

    Anything unusual (a callback dial that may lift an opt-out, a time text that does not parse, a
    contact not loaded) goes through `check_dial` itself or a fresh read.
    """

    def __init__(
        self, conn: sqlite3.Connection, campaign: StoredCampaign, flush: Callable[[], None] | None = None
    ):
        self.conn, self.campaign = conn, campaign
        self._flush = flush  # writes the attempts noted but not yet written (see `note_attempt`)
        self._pending: dict[str, list[tuple[int, str]]] = {}  # phone -> attempts noted, not yet written
        self.marketing = campaign.kind == "marketing"
        self._rules = campaign.rules()
        self._rules_by_pause: dict[bool, compliance.CampaignPolicy] = {}
        self._quick = QuickCheck(self._rules)  # the window and frequency rules; pausing is checked apart
        self._quick_until = -_NEVER  # the fast path applies to instants up to this (µs since the epoch)
        self._quick_shared: tuple[str | None, tuple[str, ...], str] = (None, (), "")
        self._facts: dict[int, _Facts] = {}
        self._history: dict[str, list[tuple[int, str]]] = {}  # phone -> (started, µs since epoch; outcome)
        self._by_phone: dict[str, int] = {}
        self._version: int | None = None
        self._changes = -1
        self._paused: Any = None
        self._registry: Any = None
        self._shared_loaded = False
        self.reloads = 0  # times another connection's commit made the loaded records stale
        self._wal_view = wal_index_view(conn)
        self._wal_head = b""
        # a writer process committing this run's batches (`attach_writer`): acked(wait) -> its commits
        self._writer: Callable[[bool], int] | None = None
        self._writer_mark = (0, 0)  # (WAL-index commit counter, writer commits acknowledged) at the last sync

    # --- keeping the records current ------------------------------------------------------------------
    @property
    def sees_commits(self) -> bool:
        """The WAL-index header is in view (WAL mode): commits can be counted (`attach_writer`)."""
        return self._wal_view is not None

    def attach_writer(self, acked: Callable[[bool], int] | None) -> None:
        """The run's batches and claims are committed by a writer process (`dialwriter`) from now on:
        `acked(wait)` is how many transactions it has committed and acknowledged (`wait`: after the
        acknowledgement of the one in flight, if any). Its commits are not another process's: the records
        stay loaded across them, as long as the WAL-index commit counter moved exactly as often. None: the
        run writes by itself again."""
        self._writer = acked
        if acked is not None:
            self._sync()  # the count starts from the header in view now

    def _writer_only(self, head: bytes) -> bytes | None:
        """`head` (or the header read again) when every commit since the last sync is the writer's: the
        WAL-index header, both copies alike (not caught mid-write), counts as many commits as the writer
        acknowledged. Every acknowledged commit is in a header read after its acknowledgement, so any other
        commit (anyone else's, or this connection's) makes the count differ; None then. One commit ahead,
        the writer's may be in with its acknowledgement on the way: that is waited for, and the header
        read again (the commit counted may have been someone else's, the writer's coming after it)."""
        acked, view = self._writer, self._wal_view
        if acked is None or view is None or self.conn.total_changes != self._changes:
            return None
        counter, acks = self._writer_mark
        done = acked(False) - acks
        moved = (int.from_bytes(head[8:12], sys.byteorder) - counter) & 0xFFFFFFFF
        if head[:48] == head[48:] and moved == done:
            return head
        if moved != done + 1:
            return None
        done = acked(True) - acks
        head = view[:_WAL_HEADERS]
        moved = (int.from_bytes(head[8:12], sys.byteorder) - counter) & 0xFFFFFFFF
        return head if head[:48] == head[48:] and moved == done else None

    def _drain(self) -> None:
        """Reading the database: the writer's batch in flight committed first (its attempts are no longer
        among those noted, `written()`, but must be in what is read)."""
        if self._writer is not None:
            self._writer(True)

    def _current(self) -> None:
        view = self._wal_view
        if view is not None:
            head = view[:_WAL_HEADERS]
            if head == self._wal_head and self.conn.total_changes == self._changes:
                return  # no commit by anyone since the last full check, no write of ours since
            if self._writer is not None and self._version is not None:
                accepted = self._writer_only(head)
                if accepted is not None:
                    self._wal_head = accepted
                    return
        self._sync()

    def _sync(self) -> None:
        """Ask SQLite whether anyone else committed (`PRAGMA data_version`); if so, or if this connection
        wrote something not reported, every loaded record is read again (lazily, at its next dial)."""
        view, head = self._wal_view, b""
        if view is not None:
            if self._writer is not None:
                self._writer(True)  # its batch in flight committed: the count starts after it
            head = view[:_WAL_HEADERS]
            if self._writer is not None:
                while head[:48] != head[48:]:  # caught while a commit rewrites it: read it again
                    head = view[:_WAL_HEADERS]
                self._writer_mark = (int.from_bytes(head[8:12], sys.byteorder), self._writer(False))
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        changes = self.conn.total_changes
        if view is not None:
            self._wal_head = head  # read before data_version: a commit in between is seen next time
        if version != self._version or changes != self._changes:
            if self._version is not None:
                self.reloads += 1
            self._version, self._changes = version, changes
            self._facts.clear()
            self._history.clear()
            self._by_phone.clear()
            self._shared_loaded = False

    def start(self) -> None:
        """Note the database's state before anything is loaded (a run calls it before its first claim)."""
        self._current()

    def load(self, contact_ids: list[int]) -> None:
        """Read the records of these contacts (a claimed block) in a few batched queries."""
        if self._version is None:
            self.start()
        for i in range(0, len(contact_ids), _GATE_CHUNK):
            chunk = contact_ids[i : i + _GATE_CHUNK]
            try:
                self._load(chunk)
            except (ValueError, TypeError):  # a time text Python cannot read: those go through check_dial
                for cid in chunk:
                    facts = self._facts.pop(cid, None)
                    if facts is not None:
                        self._history.pop(facts.phone, None)
                        self._by_phone.pop(facts.phone, None)

    def _load(self, ids: list[int]) -> None:
        self._drain()
        conn, marks = self.conn, ",".join("?" * len(ids))
        loaded: dict[str, _Facts] = {}
        for cid, phone, timezone, number_zones, erased_at in conn.execute(
            f"SELECT id, phone, timezone, number_zones, erased_at FROM contacts WHERE id IN ({marks})", ids
        ):
            facts = _Facts(phone, timezone, number_zones, erased_at)
            self._facts[cid] = facts
            self._by_phone[phone] = cid
            loaded[phone] = facts
        if not loaded:
            return
        phones = list(loaded)
        pm = ",".join("?" * len(phones))
        for (phone,) in conn.execute(f"SELECT phone FROM dnc_national WHERE phone IN ({pm})", phones):
            loaded[phone].national = True
        for phone, added, removed in conn.execute(
            f"SELECT phone, added_at, removed_at FROM dnc_internal WHERE phone IN ({pm})", phones
        ):
            facts = loaded[phone]
            facts.dnc = [*facts.dnc, (_key(added), _key(removed) if removed is not None else None, added)]
        for phone, effective in conn.execute(
            f"SELECT phone, effective_at FROM optouts WHERE phone IN ({pm})", phones
        ):
            facts = loaded[phone]
            facts.optouts = [*facts.optouts, (_key(effective), effective)]
        for phone, given, row_id, action in conn.execute(
            f"SELECT phone, given_at, id, action FROM consents WHERE purpose = 'marketing' AND phone IN ({pm})",
            phones,
        ):
            facts = loaded[phone]
            facts.consents = [*facts.consents, (_key(given), row_id, action)]
        for phone, created, reason in conn.execute(
            f"SELECT phone, created_at, reason FROM suppressions WHERE phone IN ({pm}) ORDER BY id", phones
        ):
            facts = loaded[phone]
            facts.suppressions = [*facts.suppressions, (_key(created), reason)]
        history = self._history
        for phone in phones:
            history[phone] = []
        for phone, started, outcome in conn.execute(
            f"SELECT phone, started_at, outcome FROM attempts WHERE +campaign = ? AND phone IN ({pm}) ORDER BY id",
            [self.campaign.name, *phones],
        ):
            history[phone].append((_us(started), outcome))
        pending = self._pending
        if pending:
            for phone in phones:
                if phone in pending:
                    history[phone].extend(pending[phone])
        marketing = self.marketing
        for facts in loaded.values():
            facts.settle(marketing)

    def _load_shared(self) -> None:
        self._drain()
        row = self.conn.execute(
            "SELECT paused FROM campaigns WHERE name = ?", (self.campaign.name,)
        ).fetchone()
        self._paused = row[0] if row else None
        self._registry = registry_copy(self.conn) if self.marketing else None
        self._shared_loaded = True
        # the campaign-wide conditions of the fast path: not paused, a caller ID, a fresh registry copy
        rules = self._rules if self._paused is None else replace(self._rules, paused=bool(self._paused))
        self._quick_until = _NEVER
        if rules.paused or not rules.caller_id:
            self._quick_until = -_NEVER
        elif self.marketing and rules.registry_max_age is not None:
            registry = self._registry
            self._quick_until = (
                (registry.registry_date - _EPOCH + rules.registry_max_age) // US if registry else -_NEVER
            )
        registry_version = self._registry.version if self._registry else None
        self._quick_shared = (
            registry_version,
            compliance.rules_for(rules),
            ";".join(compliance.rules_for(rules)),
        )

    def note_attempt(self, phone: str, us: int, outcome: str) -> None:
        """This run made an attempt that it will write with its next batch (then calls `written()`).

        The decision counts it at once, and still after the records are read again (another process
        committed) until it is written; `check_dial`, which reads the database, is only asked after
        `flush` wrote it."""
        entry = (us, outcome)
        pending = self._pending.get(phone)
        if pending is None:
            self._pending[phone] = [entry]
        else:
            pending.append(entry)
        history = self._history.get(phone)
        if history is not None:
            history.append(entry)

    def written(self) -> None:
        """The attempts noted so far are committed: the database holds them from now on."""
        self._pending.clear()

    def record_attempt(self, phone: str, started_at: str | int, outcome: str) -> None:
        """This connection wrote an attempt (committed with the batch being flushed); `started_at` is the
        stored text, or the instant in microseconds since the Unix epoch."""
        history = self._history.get(phone)
        if history is not None:
            history.append((started_at if isinstance(started_at, int) else _us(started_at), outcome))

    def mine(self, before: int) -> None:
        """This connection's changes since `total_changes` was `before` were the run's own, reported.

        If something else had already written through this connection, the records stay marked stale."""
        if before == self._changes:
            self._changes = self.conn.total_changes

    def forget(self, phone: str) -> None:
        """This connection wrote a record about `phone` (an opt-out): read it again at its next dial."""
        cid = self._by_phone.pop(phone, None)
        if cid is not None:
            self._facts.pop(cid, None)
        self._history.pop(phone, None)

    # --- the check ------------------------------------------------------------------------------------
    def check_at(self, contact_id: int, us: int, *, callback_requested: bool = False) -> DialCheck | RunCheck:
        """`check` at the instant `us` microseconds after the Unix epoch, proven fast when it can be.

        The records are made current first, exactly as `check` does. A party with no record against the
        call (`_Facts.settle`), under a campaign that is not paused and has a fresh registry copy, then only
        needs the window and frequency rules, which `QuickCheck` proves on integers; the answer is a
        `RunCheck`, the same allowed `DialCheck` in a lighter form. Anything else goes through `check`
        (and so `compliance.decide`), which says why a dial is refused."""
        self._current()
        facts = self._facts.get(contact_id)
        if facts is not None:
            if not self._shared_loaded:
                self._load_shared()
            if (us + 500) // 1000 >= facts.quick_from and us <= self._quick_until:
                quick = self._quick
                offset = quick.allows(facts.zones, self._history.get(facts.phone, ()), us)
                if offset is not None:
                    return RunCheck(facts, self._quick_shared, us, quick.local_iso(us, offset))
        return self.check(contact_id, instant(us), callback_requested=callback_requested)

    def check(self, contact_id: int, now: datetime, *, callback_requested: bool = False) -> DialCheck:
        """`check_dial(conn, campaign, contact_id, now, callback_requested=...)`, from the loaded records."""
        self._current()
        try:
            facts = self._facts.get(contact_id)
            if facts is None:
                self._load([contact_id])
                facts = self._facts.get(contact_id)
                if facts is None:
                    raise UserError(f"no contact with id {contact_id}")
            return self._check(facts, now.astimezone(UTC), callback_requested)
        except (ValueError, TypeError):  # a stored time SQLite reads and Python does not: ask SQL itself
            if self._pending and self._flush is not None:
                self._flush()  # check_dial reads the attempts from the database: write the noted ones
            self._drain()
            return check_dial(
                self.conn, self.campaign, contact_id, now, callback_requested=callback_requested
            )

    def _check(self, facts: _Facts, now: datetime, callback_requested: bool) -> DialCheck:
        if not self._shared_loaded:
            self._load_shared()
        at = _ms(now)
        erased = facts.erased_key is not None and facts.erased_key <= at
        dnc_since = optout_at = consent = None
        best = -1
        for added, removed, text in facts.dnc:
            if added <= at and (removed is None or removed > at) and added > best:
                best, dnc_since = added, text
        best = -1
        for effective, text in facts.optouts:
            if effective <= at and effective > best:
                best, optout_at = effective, text
        best_consent = (-1, -1)
        for given, row_id, action in facts.consents:
            if given <= at and (given, row_id) > best_consent:
                best_consent, consent = (given, row_id), action
        suppressed = ";".join(reason for created, reason in facts.suppressions if created <= at)
        if (optout_at or dnc_since or suppressed) and callback_requested:
            # a callback that may lift an opt-out: rare, and read exactly as check_dial does
            raise ValueError("callback dial")
        history = History(
            tuple(
                [
                    Attempt(instant(us), outcome)
                    for us, outcome in self._history.get(facts.phone, ())
                    if (us + 500) // 1000 <= at
                ]
            )
        )
        erased_suppression = "eras" in suppressed.lower()
        other_suppression = bool(suppressed) and not erased_suppression
        registry = self._registry
        contact = ContactFacts(
            phone=facts.phone,
            zones=facts.zones,
            valid_number=_valid(facts.phone, history),
            erased=erased or erased_suppression,
            on_national_dnc=facts.national,
            registry=registry,
            internal_dnc_since=_utc(dnc_since) if dnc_since else (now if other_suppression else None),
            opted_out_at=_utc(optout_at) if optout_at else None,
            callback_requested_at=None,
            marketing_consent=consent,
        )
        rules = self._rules
        if self._paused is not None:
            paused = bool(self._paused)
            rules = self._rules_by_pause.get(paused) or self._rules_by_pause.setdefault(
                paused, replace(rules, paused=paused)
            )
        decision = compliance.decide(contact, rules, history, now)
        zones = facts.zones
        return DialCheck(
            allowed=decision.allowed,
            reasons=decision.reasons,
            next_allowed_at=decision.next_allowed_at,
            zone=zones[0],
            zone_source=facts.source,
            zones=zones,
            local_time=decision.local_time or now,
            registry_version=registry.version if registry else None,
            rules_checked=decision.rules_checked,
            phone=facts.phone,
        )
