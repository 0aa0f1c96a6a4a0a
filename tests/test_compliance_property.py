"""Property test of the decision against a reference check written separately, here, from the rule book.

No case may be allowed that a rule forbids; the reasons must be exactly the rules the reference finds;
and when the decision gives a next time, the call is allowed then and not a second earlier.
100,000 seeded random cases run in a plain loop (hypothesis drives a smaller, shrinking run beside it).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cctool.compliance import CampaignPolicy, ContactFacts, Decision, History, RegistryCopy, decide

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ZONE_SETS = [
    ("America/New_York",),
    ("Europe/London",),
    ("Asia/Shanghai",),
    ("Australia/Sydney",),
    ("America/Santiago",),  # changes at midnight
    ("Australia/Lord_Howe",),  # half-hour DST shift
    ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
    ("America/Los_Angeles", "Pacific/Honolulu"),
    ("Europe/London", "Asia/Shanghai"),
]
# instants near the daylight-saving changes of 2026 in the zones above, and plain days
ANCHORS = [
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    datetime(2026, 4, 4, 16, 0, tzinfo=UTC),
    datetime(2026, 10, 3, 16, 0, tzinfo=UTC),
    datetime(2026, 4, 5, 3, 0, tzinfo=UTC),
    datetime(2026, 9, 6, 4, 0, tzinfo=UTC),
    datetime(2026, 6, 15, 12, 0, tzinfo=UTC),
    datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
]


def reference_reasons(
    facts: ContactFacts, rules: CampaignPolicy, history: History, now: datetime
) -> set[str]:
    """The rule book, read literally: every rule that forbids this call."""
    found = set()
    earlier = [a for a in history.attempts if a.started_at <= now]
    for name in facts.zones:
        here = now.astimezone(ZoneInfo(name))
        if not (rules.hours_start <= here.time() < rules.hours_end):
            found.add("outside_hours")
        if DAYS[here.weekday()] not in rules.days:
            found.add("day_not_allowed")
        same_day = [a for a in earlier if a.started_at.astimezone(ZoneInfo(name)).date() == here.date()]
        if rules.cap_per_day is not None and len(same_day) + 1 > rules.cap_per_day:
            found.add("cap_day")
    if (
        rules.cap_24h is not None
        and len([a for a in earlier if now - a.started_at < timedelta(hours=24)]) + 1 > rules.cap_24h
    ):
        found.add("cap_24h")
    if rules.cap_total is not None and len(earlier) + 1 > rules.cap_total:
        found.add("cap_total")
    if rules.min_gap is not None and any(now - a.started_at < rules.min_gap for a in earlier):
        found.add("min_gap")
    if rules.abandon_lock and any(
        a.outcome == "abandoned" and now - a.started_at < rules.abandon_lock for a in earlier
    ):
        found.add("abandon_lock")
    callback = facts.callback_requested_at
    if facts.opted_out_at and not (callback and facts.opted_out_at < callback <= now):
        found.add("opted_out")
    if facts.internal_dnc_since and not (callback and facts.internal_dnc_since < callback <= now):
        found.add("dnc_internal")
    if rules.kind == "marketing":
        if facts.on_national_dnc:
            found.add("dnc_national")
        if facts.marketing_consent is None:
            found.add("no_consent")
        if facts.marketing_consent == "revoke":
            found.add("consent_revoked")
        limit = rules.registry_max_age
        if limit is not None and (facts.registry is None or facts.registry.registry_date + limit < now):
            found.add("registry_stale")
    if facts.erased:
        found.add("erased")
    if not facts.valid_number:
        found.add("invalid_number")
    if rules.paused:
        found.add("campaign_paused")
    if not rules.caller_id:
        found.add("no_caller_id")
    return found


def random_case(rng: random.Random) -> tuple[ContactFacts, CampaignPolicy, History, datetime]:
    now = rng.choice(ANCHORS) + timedelta(seconds=rng.randrange(-3 * 86400, 3 * 86400))
    rare = lambda p: rng.random() < p  # noqa: E731 - most cases should pass most rules
    start_min = rng.randrange(0, 20 * 60, 15)
    end_min = rng.randrange(start_min + 15, 24 * 60 + 1, 15)
    rules = CampaignPolicy(
        kind=rng.choice(["marketing", "survey", "followup"]),
        hours_start=time(start_min // 60, start_min % 60),
        hours_end=time(23, 59) if end_min >= 24 * 60 else time(end_min // 60, end_min % 60),
        days=frozenset(d for d in DAYS if rng.random() < 0.8) or frozenset({"mon"}),
        cap_per_day=rng.choice([None, 1, 2, 3]),
        cap_24h=rng.choice([None, 1, 2, 4]),
        cap_total=rng.choice([None, None, 3, 8]),
        min_gap=rng.choice([None, timedelta(minutes=30), timedelta(hours=4)]),
        abandon_lock=rng.choice([timedelta(0), timedelta(hours=72)]),
        registry_max_age=rng.choice([None, timedelta(days=28), timedelta(days=31)]),
        caller_id=None if rare(0.03) else "+14155550100",
        paused=rare(0.03),
    )
    attempts = sorted(
        (
            now - timedelta(seconds=rng.randrange(0, 4 * 86400)),
            rng.choice(["answered", "busy", "no_answer", "abandoned"]),
        )
        for _ in range(rng.choice([0, 0, 1, 2, 3, 5]))
    )
    opted = now - timedelta(seconds=rng.randrange(0, 86400)) if rare(0.08) else None
    facts = ContactFacts(
        phone="+14155550123",
        zones=rng.choice(ZONE_SETS),
        valid_number=not rare(0.03),
        erased=rare(0.03),
        on_national_dnc=rare(0.08),
        registry=None if rare(0.05) else RegistryCopy("v", now - timedelta(days=rng.randrange(0, 40))),
        internal_dnc_since=now - timedelta(hours=1) if rare(0.05) else None,
        opted_out_at=opted,
        callback_requested_at=now - timedelta(seconds=rng.randrange(0, 2 * 86400)) if rare(0.1) else None,
        marketing_consent=rng.choice(["grant", "grant", "grant", "revoke", None]),
    )
    return facts, rules, History.of(attempts), now


def check_case(facts: ContactFacts, rules: CampaignPolicy, history: History, now: datetime) -> Decision:
    decision = decide(facts, rules, history, now)
    expected = reference_reasons(facts, rules, history, now)
    assert set(decision.reasons) == expected, (facts, rules, history, now)
    assert decision.allowed == (not expected)
    if decision.next_allowed_at is not None:
        opens = decision.next_allowed_at
        assert opens >= now
        assert not reference_reasons(facts, rules, history, opens), ("not allowed at next_allowed_at", opens)
        one_before = opens - timedelta(seconds=1)
        if one_before >= now:
            assert reference_reasons(facts, rules, history, one_before), ("allowed earlier than said", opens)
    return decision


def test_a_hundred_thousand_seeded_cases_agree_with_the_reference() -> None:
    rng = random.Random(20261201)
    allowed = with_next = 0
    for _ in range(100_000):
        decision = check_case(*random_case(rng))
        allowed += decision.allowed
        with_next += decision.next_allowed_at is not None
    # the generator must reach both sides of the rules, not only refusals
    assert allowed > 5_000 and with_next > 5_000


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_hypothesis_driven_cases_agree_with_the_reference(seed: int) -> None:
    check_case(*random_case(random.Random(seed)))
