"""The fast proof (`compliance.QuickCheck`) never allows a dial that `decide` refuses, gives the same
local time when it allows, and proves most allowed dials (it exists to be used).

Seeded random cases around the daylight-saving changes of several zones, with contacts in several zones;
one QuickCheck per policy is reused across many instants in random order, as its cached spans would be.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from cctool.compliance import US, CampaignPolicy, ContactFacts, History, QuickCheck, decide, instant
from tests.test_compliance_property import ANCHORS, ZONE_SETS, random_case

CLEAN = dict(
    valid_number=True, erased=False, on_national_dnc=False, registry=None, internal_dnc_since=None,
    opted_out_at=None, callback_requested_at=None, marketing_consent="grant",
)  # fmt: skip


def _us(moment: datetime) -> int:
    return (moment - instant(0)) // US


def _agree(
    quick: QuickCheck, facts: ContactFacts, rules: CampaignPolicy, history: History, now: datetime
) -> bool:
    """Whether the fast path proved the dial; fails the test if it disagrees with `decide`."""
    us = _us(now)
    past = [(_us(a.started_at), a.outcome) for a in history.attempts]
    offset = quick.allows(facts.zones, past, us)
    decision = decide(facts, rules, history, now)
    if offset is None:
        return False
    assert decision.allowed, (facts.zones, rules, history, now, decision.reasons)
    assert decision.local_time is not None
    assert decision.local_time.utcoffset() == timedelta(microseconds=offset)
    assert quick.local_iso(us, offset) == decision.local_time.isoformat()
    return True


def test_the_fast_path_agrees_with_decide_on_random_cases() -> None:
    rng = random.Random(4)
    policies: dict[CampaignPolicy, QuickCheck] = {}
    proved = allowed = 0
    for _ in range(15_000):
        facts, rules, history, now = random_case(rng)
        rules = replace(rules, kind="survey", paused=False, caller_id="+14155550100", registry_max_age=None)
        facts = replace(facts, **CLEAN)  # type: ignore[arg-type]
        if len(policies) > 40:
            policies.clear()
        quick = policies.setdefault(rules, QuickCheck(rules))
        if now.microsecond == 0 and rng.random() < 0.5:
            now += timedelta(microseconds=rng.randrange(1, 1_000_000))
        proved += _agree(quick, facts, rules, history, now)
        allowed += decide(facts, rules, history, now).allowed
    assert allowed > 1000
    assert proved >= 0.9 * allowed, (proved, allowed)


def test_a_run_through_daylight_saving_changes_agrees_second_by_second() -> None:
    """Instants moving forward, as in a run, across every anchor's change, in zones that change."""
    rng = random.Random(7)
    for zones in ZONE_SETS:
        rules = CampaignPolicy(
            kind="survey", hours_start=time(0, 0), hours_end=time(23, 59), caller_id="+14155550100",
            cap_per_day=2, min_gap=timedelta(minutes=5),
        )  # fmt: skip
        quick = QuickCheck(rules)
        facts = ContactFacts(phone="+14155550123", zones=zones, **CLEAN)  # type: ignore[arg-type]
        for anchor in ANCHORS:
            now = anchor - timedelta(hours=3)
            past: list[tuple[datetime, str]] = []
            while now < anchor + timedelta(hours=3):
                history = History.of(past[-3:])
                if _agree(quick, facts, rules, history, now) and rng.random() < 0.05:
                    past.append((now, rng.choice(["busy", "no_answer", "abandoned"])))
                now += timedelta(seconds=rng.randrange(1, 400), microseconds=rng.randrange(0, 1_000_000))


def test_a_window_ending_at_a_transition_agrees_at_every_minute() -> None:
    for zones in ZONE_SETS:
        for start, end in ((time(0, 0), time(3, 0)), (time(1, 0), time(2, 30)), (time(22, 0), time(23, 59))):
            rules = CampaignPolicy(kind="followup", hours_start=start, hours_end=end, caller_id="+1415")
            quick = QuickCheck(rules)
            facts = ContactFacts(phone="+14155550123", zones=zones, **CLEAN)  # type: ignore[arg-type]
            for anchor in ANCHORS:
                for minute in range(-240, 240, 11):
                    _agree(quick, facts, rules, History(), anchor + timedelta(minutes=minute))


def test_the_instant_helper_is_exact() -> None:
    moment = datetime(2026, 3, 8, 7, 0, 0, 123456, tzinfo=UTC)
    assert instant(_us(moment)) == moment
