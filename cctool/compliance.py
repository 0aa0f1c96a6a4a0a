"""The dial-time decision: may this campaign call this person at this instant, and if not, why not.

`decide` is a pure function: the caller (the dial gate, preview, the simulator) reads the records at the
instant and passes them in with the time, so the rules can be tested exhaustively without a database or a
clock. Local time is always the called party's, computed from IANA zone names at the instant (zoneinfo),
so daylight-saving changes fall exactly where they happen.

Every failing rule is reported, from a fixed vocabulary, in the fixed order of `REASONS`.
`next_allowed_at` is given only when every failing rule is one that time alone will lift.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from .timeutil import IsoText

# The fixed vocabulary, in the order reasons are reported (tests, reports and exports rely on it).
REASONS: tuple[str, ...] = (
    "outside_hours",
    "day_not_allowed",
    "dnc_national",
    "dnc_internal",
    "opted_out",
    "no_consent",
    "consent_revoked",
    "registry_stale",
    "cap_day",
    "cap_24h",
    "cap_total",
    "min_gap",
    "abandon_lock",
    "erased",
    "invalid_number",
    "campaign_paused",
    "no_caller_id",
)
# Rules that the passing of time alone lifts (a total cap, a stale registry or an opt-out never do).
TIME_BASED = frozenset({"outside_hours", "day_not_allowed", "cap_day", "cap_24h", "min_gap", "abandon_lock"})
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KINDS = ("marketing", "survey", "followup")
DAY = timedelta(days=1)
# How far ahead next_allowed_at is searched; a window that never opens in this span gives None.
SEARCH_HORIZON = timedelta(days=15)


@dataclass(frozen=True)
class CampaignPolicy:
    """The effective rules of one campaign version: its preset's figures, tightened (or overridden)."""

    kind: str  # marketing | survey | followup
    preset: str = "strict"
    hours_start: time = time(9, 0)
    hours_end: time = time(20, 0)  # a call must start before it
    days: frozenset[str] = frozenset(WEEKDAYS)
    cap_per_day: int | None = None  # attempts per local calendar day of the called party
    cap_24h: int | None = None  # attempts in any rolling 24 hours
    cap_total: int | None = None  # attempts in all
    min_gap: timedelta | None = None  # between two attempts
    abandon_lock: timedelta = timedelta(0)  # no redial within this after an abandoned call
    registry_max_age: timedelta | None = None  # national copy age limit for marketing (None: no rule)
    caller_id: str | None = None
    paused: bool = False


@dataclass(frozen=True)
class RegistryCopy:
    """The national do-not-call copy the check used: its version and the date the registry issued it."""

    version: str
    registry_date: datetime


@dataclass(frozen=True)
class ContactFacts:
    """What the records say about the called party at the instant of the decision."""

    phone: str | None
    zones: tuple[str, ...]  # the zones to check: the contact's own zone if set, else the number's
    valid_number: bool = True
    erased: bool = False
    on_national_dnc: bool = False
    registry: RegistryCopy | None = None  # newest national copy loaded (None: none loaded)
    internal_dnc_since: datetime | None = None  # open internal DNC entry in force
    opted_out_at: datetime | None = None  # latest opt-out effective at or before the instant
    callback_requested_at: datetime | None = None  # the person asked for this call at this time
    marketing_consent: str | None = None  # latest marketing consent action in force: grant | revoke


@dataclass(frozen=True)
class Attempt:
    started_at: datetime
    outcome: str  # answered, busy, no_answer, voicemail, invalid, failed, abandoned


@dataclass(frozen=True)
class History:
    """Earlier attempts of this campaign to this number, at or before the instant (any order)."""

    attempts: tuple[Attempt, ...] = ()

    @classmethod
    def of(cls, attempts: Iterable[tuple[datetime, str]]) -> History:
        return cls(tuple(Attempt(at, outcome) for at, outcome in attempts))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[str, ...]
    next_allowed_at: datetime | None
    zones: tuple[str, ...] = ()
    local_time: datetime | None = None  # in the first zone
    rules_checked: tuple[str, ...] = field(default=())


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall-clock reading at an instant."""
    return moment.astimezone(zone).replace(tzinfo=None)


@lru_cache(maxsize=64)  # policies are frozen: a run asks the same one for every dial
def rules_for(policy: CampaignPolicy) -> tuple[str, ...]:
    """The rules a decision under this policy evaluates (recorded with every attempt)."""
    rules = ["outside_hours", "day_not_allowed", "dnc_internal", "opted_out"]
    if policy.kind == "marketing":
        rules += ["dnc_national", "no_consent", "consent_revoked"]
        if policy.registry_max_age is not None:
            rules.append("registry_stale")
    rules += [r for r, cap in _caps(policy) if cap is not None]
    if policy.abandon_lock > timedelta(0):
        rules.append("abandon_lock")
    rules += ["erased", "invalid_number", "campaign_paused", "no_caller_id"]
    return tuple(r for r in REASONS if r in rules)


def _caps(policy: CampaignPolicy) -> list[tuple[str, object]]:
    return [
        ("cap_day", policy.cap_per_day),
        ("cap_24h", policy.cap_24h),
        ("cap_total", policy.cap_total),
        ("min_gap", policy.min_gap),
    ]


def _window_reason(moment: datetime, zones: Sequence[ZoneInfo], policy: CampaignPolicy) -> set[str]:
    failing: set[str] = set()
    for zone in zones:
        wall = _wall(moment, zone)
        if WEEKDAYS[wall.weekday()] not in policy.days:
            failing.add("day_not_allowed")
        if not policy.hours_start <= wall.time() < policy.hours_end:
            failing.add("outside_hours")
    return failing


def _per_day_full(moment: datetime, zones: Sequence[ZoneInfo], times: Sequence[datetime], cap: int) -> bool:
    """True when, in any of the zones, the local calendar day of `moment` already holds `cap` attempts."""
    for zone in zones:
        today = _wall(moment, zone).date()
        if sum(1 for t in times if _wall(t, zone).date() == today) >= cap:
            return True
    return False


def decide(contact: ContactFacts, policy: CampaignPolicy, history: History, now: datetime) -> Decision:
    """Every rule that forbids calling `contact` under `policy` at `now`, and when time alone lifts them."""
    if now.tzinfo is None:
        raise ValueError("decide() needs an aware datetime")
    now = now.astimezone(UTC)
    zones = [_zone(z) for z in contact.zones] or [_zone("UTC")]
    times = sorted(a.started_at for a in history.attempts if a.started_at <= now)
    abandoned = [a.started_at for a in history.attempts if a.outcome == "abandoned" and a.started_at <= now]
    failing = _window_reason(now, zones, policy)
    failing |= _party_reasons(contact, policy, now)
    failing |= _frequency_reasons(policy, zones, times, abandoned, now)

    reasons = tuple(r for r in REASONS if r in failing)
    next_at = None
    if reasons and failing <= TIME_BASED:
        next_at = _next_allowed(now, zones, policy, times, abandoned)
        if next_at and _stale_by(contact, policy, next_at):
            next_at = None  # the registry copy goes stale first: time alone will not open the call
    return Decision(
        allowed=not reasons,
        reasons=reasons,
        next_allowed_at=next_at,
        zones=tuple(contact.zones) or ("UTC",),
        local_time=now.astimezone(zones[0]),
        rules_checked=rules_for(policy),
    )


def _party_reasons(contact: ContactFacts, policy: CampaignPolicy, now: datetime) -> set[str]:
    """The rules about the person, the number and the campaign itself (none of them lifted by time)."""
    failing: set[str] = set()
    if not contact.valid_number:
        failing.add("invalid_number")
    if contact.erased:
        failing.add("erased")
    if policy.paused:
        failing.add("campaign_paused")
    if not policy.caller_id:
        failing.add("no_caller_id")
    # Only a callback the person asked for after opting out (or after being put on the list) reaches them.
    asked = contact.callback_requested_at
    if contact.opted_out_at is not None and not (asked and contact.opted_out_at < asked <= now):
        failing.add("opted_out")
    if contact.internal_dnc_since is not None and not (asked and contact.internal_dnc_since < asked <= now):
        failing.add("dnc_internal")
    if policy.kind == "marketing":
        if contact.on_national_dnc:
            failing.add("dnc_national")
        if contact.marketing_consent == "revoke":
            failing.add("consent_revoked")
        elif contact.marketing_consent != "grant":
            failing.add("no_consent")
        if _stale_by(contact, policy, now):
            failing.add("registry_stale")
    return failing


def _frequency_reasons(
    policy: CampaignPolicy,
    zones: Sequence[ZoneInfo],
    times: Sequence[datetime],
    abandoned: Sequence[datetime],
    now: datetime,
) -> set[str]:
    """Caps, the minimum gap and the redial lock after an abandoned call, over earlier attempts."""
    failing: set[str] = set()
    if policy.cap_total is not None and len(times) >= policy.cap_total:
        failing.add("cap_total")
    if policy.cap_24h is not None and sum(1 for t in times if t > now - DAY) >= policy.cap_24h:
        failing.add("cap_24h")
    if policy.cap_per_day is not None and _per_day_full(now, zones, times, policy.cap_per_day):
        failing.add("cap_day")
    if policy.min_gap is not None and times and now - times[-1] < policy.min_gap:
        failing.add("min_gap")
    if policy.abandon_lock > timedelta(0) and abandoned and now - max(abandoned) < policy.abandon_lock:
        failing.add("abandon_lock")
    return failing


def _stale_by(contact: ContactFacts, policy: CampaignPolicy, moment: datetime) -> bool:
    """Whether a marketing call needs a newer registry copy at `moment` than the one loaded."""
    if policy.kind != "marketing" or policy.registry_max_age is None:
        return False
    return contact.registry is None or moment - contact.registry.registry_date > policy.registry_max_age


def _next_allowed(
    now: datetime,
    zones: Sequence[ZoneInfo],
    policy: CampaignPolicy,
    times: Sequence[datetime],
    abandoned: Sequence[datetime],
) -> datetime | None:
    """The earliest instant >= now at which every time-based rule passes, assuming no further attempts."""
    moment = now
    if policy.min_gap is not None and times:
        moment = max(moment, times[-1] + policy.min_gap)
    if policy.abandon_lock > timedelta(0) and abandoned:
        moment = max(moment, max(abandoned) + policy.abandon_lock)
    if policy.cap_24h is not None and len(times) >= policy.cap_24h:
        # the cap-th most recent attempt must have left the 24 hours
        moment = max(moment, times[len(times) - policy.cap_24h] + DAY)
    horizon = now + SEARCH_HORIZON
    while moment <= horizon:
        later, blocked = moment, False
        for zone in zones:
            wall = _wall(moment, zone)
            if _window_reason(moment, [zone], policy):
                opens = _next_window_open(moment, wall, zone, policy)
                if opens is None:
                    return None
                later, blocked = max(later, opens), True
            elif policy.cap_per_day is not None and _per_day_full(moment, [zone], times, policy.cap_per_day):
                midnight = datetime.combine(wall.date() + DAY, time(0))
                later, blocked = max(later, _first_at_or_after(moment, zone, midnight)), True
        if not blocked:
            return moment
        moment = later if later > moment else moment + timedelta(seconds=1)
    return None


def _next_window_open(
    moment: datetime, wall: datetime, zone: ZoneInfo, policy: CampaignPolicy
) -> datetime | None:
    """The next instant after `moment` at which the local clock in `zone` enters the calling window."""
    if policy.hours_start >= policy.hours_end or not policy.days:
        return None
    day: date = wall.date()
    if not (WEEKDAYS[day.weekday()] in policy.days and wall.time() < policy.hours_start):
        day += DAY
        for _ in range(7):
            if WEEKDAYS[day.weekday()] in policy.days:
                break
            day += DAY
    return _first_at_or_after(moment, zone, datetime.combine(day, policy.hours_start))


def _first_at_or_after(moment: datetime, zone: ZoneInfo, target: datetime) -> datetime:
    """The earliest instant >= moment whose local wall clock in `zone` reads `target` or later.

    A wall time repeated when clocks go back has two instants (fold 0 and 1); one skipped when clocks go
    forward has none, and the window then opens at the transition itself, found by bisection.
    """
    candidates = sorted({target.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)})
    for index, instant in enumerate(candidates):
        if instant < moment:
            continue
        wall = _wall(instant, zone)
        if wall == target:
            return instant
        if wall > target:  # skipped wall time: bisect between the earlier candidate and this one
            low = max(moment, candidates[0]) if index else moment
            high = instant
            while high - low > timedelta(microseconds=1):
                middle = low + (high - low) / 2
                if _wall(middle, zone) >= target:
                    high = middle
                else:
                    low = middle
            return high.replace(microsecond=0) if _wall(high.replace(microsecond=0), zone) >= target else high
    return max(moment, candidates[-1])


# --- the same decision, proven fast for the common dial ---------------------------------------------------
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
DAY_US = 86_400_000_000
_PROBE_US = 30 * 60 * 1_000_000  # the UTC offset is checked this often across a cached span


def instant(us: int) -> datetime:
    """The instant `us` microseconds after the Unix epoch (UTC)."""
    return EPOCH + timedelta(microseconds=us)


def _offset_us(us: int, zone: ZoneInfo) -> int:
    offset = instant(us).astimezone(zone).utcoffset()
    return offset // US if offset is not None else 0


class QuickCheck:
    """Proves fast that `decide` allows a dial, for the dial a run makes thousands of times.

    `decide` rebuilds every local time from zoneinfo and every rule from the records at each call. For a
    party with no record against the call (the caller checks that: no opt-out, list entry, suppression,
    erasure, refused consent), what remains is the calling window in each zone and the frequency rules
    over the party's earlier attempts. This keeps, per zone, a span of instants known to be inside the
    window with the zone's UTC offset over it (integer microseconds since the Unix epoch): a dial inside
    the span is a comparison, and the local time is the instant plus that offset. The span ends at the
    window's end that day, and sooner if the offset changes (it is probed every half hour across the span,
    daylight-saving changes are never closer together). Frequency rules are the same arithmetic as
    `decide`'s, on integers.

    `allows` returns None whenever it cannot prove the dial allowed (a rule fails, an attempt at or after
    the instant, an invalid outcome ...): the caller then asks `decide`, which gives the reasons. So the
    fast answer is only ever "allowed", and only when `decide` would say so (a seeded test compares them).
    """

    def __init__(self, policy: CampaignPolicy):
        self.policy = policy
        self._spans: dict[str, tuple[int, int, int, int]] = {}  # zone -> (from, until, offset, local day)
        self._suffixes: dict[int, str] = {}
        self._text = IsoText()
        self.cap_total = policy.cap_total
        self.cap_24h = policy.cap_24h
        self.cap_day = policy.cap_per_day
        self.gap_us = policy.min_gap // US if policy.min_gap is not None else None
        self.lock_us = policy.abandon_lock // US if policy.abandon_lock > timedelta(0) else None

    def span(self, name: str, us: int) -> tuple[int, int, int, int] | None:
        """(from, until, UTC offset, local day ordinal): instants in [from, until) are inside the window in
        zone `name`, at that offset; None when `us` is outside the window there."""
        span = self._spans.get(name)
        if span is not None and span[0] <= us < span[1]:
            return span
        zone = _zone(name)
        moment = instant(us)
        if _window_reason(moment, [zone], self.policy):
            return None
        local = moment.astimezone(zone)
        offset = _offset_us(us, zone)
        wall = local.replace(tzinfo=None)
        until = us + (datetime.combine(wall.date(), self.policy.hours_end) - wall) // US
        probe = us
        while probe < until - 1:
            step = min(probe + _PROBE_US, until - 1)
            if _offset_us(step, zone) != offset:
                until = probe + 1  # known to hold up to `probe`: the next dial looks again
                break
            probe = step
        span = self._spans[name] = (us, until, offset, wall.toordinal())
        return span

    def allows(self, zones: Sequence[str], history: Sequence[tuple[int, str]], us: int) -> int | None:
        """The UTC offset of the first zone at `us` if the window and frequency rules pass there.

        `history`: (start in microseconds since the epoch, outcome) of the party's earlier attempts."""
        first = None
        for name in zones:
            span = self.span(name, us)
            if span is None:
                return None
            if first is None:
                first = span
        if first is None:
            return None
        if history and not self._frequency_passes(zones, history, us):
            return None
        return first[2]

    def _frequency_passes(self, zones: Sequence[str], history: Sequence[tuple[int, str]], us: int) -> bool:
        last = last_abandoned = -1
        in_24h = 0
        since = us - DAY_US
        for started, outcome in history:
            if started >= us or outcome == "invalid":
                return False  # not simply earlier, or the number does not exist: `decide` says
            if started > last:
                last = started
            if started > since:
                in_24h += 1
            if outcome == "abandoned" and started > last_abandoned:
                last_abandoned = started
        if self.cap_total is not None and len(history) >= self.cap_total:
            return False
        if self.cap_24h is not None and in_24h >= self.cap_24h:
            return False
        if self.gap_us is not None and us - last < self.gap_us:
            return False
        if self.lock_us is not None and last_abandoned >= 0 and us - last_abandoned < self.lock_us:
            return False
        if self.cap_day is not None:
            for name in zones:
                today = self._spans[name][3]
                zone = _zone(name)
                same = sum(
                    1 for started, _ in history if instant(started).astimezone(zone).toordinal() == today
                )
                if same >= self.cap_day:
                    return False
        return True

    def local_iso(self, us: int, offset: int) -> str:
        """`instant(us).astimezone(zone).isoformat()` for a zone at UTC offset `offset` (microseconds)."""
        suffix = self._suffixes.get(offset)
        if suffix is None:
            zone = timezone(timedelta(microseconds=offset))
            suffix = self._suffixes[offset] = datetime(2000, 1, 1, tzinfo=zone).isoformat()[19:]
        return self._text(us + offset, suffix)
