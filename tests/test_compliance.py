"""The dial-time decision: table tests per preset, daylight-saving edges, numbers with several zones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from cctool.compliance import (
    REASONS,
    TIME_BASED,
    CampaignPolicy,
    ContactFacts,
    History,
    RegistryCopy,
    decide,
)
from cctool.policy import PRESETS


def preset_rules(name: str, kind: str = "marketing", **changes) -> CampaignPolicy:
    """A campaign that takes its preset's figures unchanged (as campaign.py resolves an empty YAML)."""
    p = PRESETS[name]
    base = dict(
        kind=kind,
        preset=name,
        hours_start=p.hours_start,
        hours_end=p.hours_end,
        cap_per_day=p.max_attempts_per_day,
        abandon_lock=p.abandon_redial_lock,
        registry_max_age=p.registry_max_age,
        caller_id="+14155550100",
    )
    base.update(changes)
    return CampaignPolicy(**base)  # type: ignore[arg-type]


ZONE = {"us": "America/New_York", "uk": "Europe/London", "cn": "Asia/Shanghai", "strict": "Europe/London"}


def contact(zone: str, **changes) -> ContactFacts:
    base = dict(
        phone="+14155550123",
        zones=(zone,),
        marketing_consent="grant",
        registry=RegistryCopy("2026-11", datetime(2026, 11, 20, tzinfo=UTC)),
    )
    base.update(changes)
    return ContactFacts(**base)  # type: ignore[arg-type]


def local(zone: str, *args: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # type: ignore[misc]


# (preset, local time on Tue 2026-12-01, allowed?) - the edges of each preset's calling hours
HOURS_TABLE = [
    ("us", (7, 59), False),
    ("us", (8, 0), True),
    ("us", (20, 59), True),
    ("us", (21, 0), False),
    ("uk", (7, 59), False),
    ("uk", (8, 0), True),
    ("uk", (21, 0), False),
    ("cn", (8, 30), False),
    ("cn", (9, 0), True),
    ("cn", (20, 59), True),
    ("cn", (21, 0), False),
    ("strict", (8, 30), False),
    ("strict", (9, 0), True),
    ("strict", (21, 0), False),
]


@pytest.mark.parametrize(("preset", "hm", "allowed"), HOURS_TABLE)
def test_each_preset_calls_only_inside_its_hours(preset: str, hm: tuple[int, int], allowed: bool) -> None:
    zone = ZONE[preset]
    now = local(zone, 2026, 12, 1, *hm)
    decision = decide(contact(zone), preset_rules(preset), History(), now)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reasons == ("outside_hours",)
        assert decision.next_allowed_at is not None
        opens = decision.next_allowed_at.astimezone(decision.local_time.tzinfo)  # type: ignore[union-attr]
        assert opens.time() == PRESETS[preset].hours_start


@pytest.mark.parametrize(
    ("preset", "age_days", "stale"),
    [
        ("us", 31, False),
        ("us", 32, True),
        ("uk", 28, False),
        ("uk", 29, True),
        ("strict", 29, True),
        ("cn", 400, False),
    ],
)
def test_marketing_needs_a_fresh_registry_copy_under_us_and_uk(
    preset: str, age_days: int, stale: bool
) -> None:
    zone = ZONE[preset]
    now = local(zone, 2026, 12, 1, 12, 0)
    copy = RegistryCopy("v1", now - timedelta(days=age_days))
    decision = decide(contact(zone, registry=copy), preset_rules(preset), History(), now)
    assert ("registry_stale" in decision.reasons) is stale
    assert decision.next_allowed_at is None or not stale


def test_no_registry_copy_at_all_is_stale_for_us_marketing_but_not_for_a_survey() -> None:
    now = local("America/New_York", 2026, 12, 1, 12, 0)
    facts = contact("America/New_York", registry=None)
    assert decide(facts, preset_rules("us"), History(), now).reasons == ("registry_stale",)
    assert decide(facts, preset_rules("us", kind="survey"), History(), now).allowed


@pytest.mark.parametrize("preset", ["us", "uk", "cn", "strict"])
def test_consent_rules_apply_to_marketing_only(preset: str) -> None:
    zone = ZONE[preset]
    now = local(zone, 2026, 12, 1, 12, 0)
    assert decide(contact(zone, marketing_consent=None), preset_rules(preset), History(), now).reasons == (
        "no_consent",
    )
    revoked = contact(zone, marketing_consent="revoke")
    assert decide(revoked, preset_rules(preset), History(), now).reasons == ("consent_revoked",)
    for kind in ("survey", "followup"):
        assert decide(revoked, preset_rules(preset, kind=kind), History(), now).allowed


@pytest.mark.parametrize("kind", ["marketing", "survey", "followup"])
def test_an_opt_out_blocks_every_kind_until_the_person_asks_for_a_callback(kind: str) -> None:
    zone = "Asia/Shanghai"
    now = local(zone, 2026, 12, 1, 12, 0)
    opted = contact(zone, opted_out_at=now - timedelta(days=1))
    assert decide(opted, preset_rules("cn", kind=kind), History(), now).reasons == ("opted_out",)
    asked_after = contact(
        zone, opted_out_at=now - timedelta(days=1), callback_requested_at=now - timedelta(hours=1)
    )
    assert decide(asked_after, preset_rules("cn", kind=kind), History(), now).allowed
    asked_before = contact(
        zone, opted_out_at=now - timedelta(days=1), callback_requested_at=now - timedelta(days=2)
    )
    assert decide(asked_before, preset_rules("cn", kind=kind), History(), now).reasons == ("opted_out",)


def test_national_dnc_blocks_marketing_but_not_a_followup() -> None:
    now = local("America/New_York", 2026, 12, 1, 12, 0)
    listed = contact("America/New_York", on_national_dnc=True)
    assert decide(listed, preset_rules("us"), History(), now).reasons == ("dnc_national",)
    assert decide(listed, preset_rules("us", kind="followup"), History(), now).allowed


def test_internal_dnc_erasure_invalid_number_pause_and_missing_caller_id_all_block() -> None:
    now = local("Europe/London", 2026, 12, 1, 12, 0)
    facts = contact("Europe/London", internal_dnc_since=now, erased=True, valid_number=False)
    rules = preset_rules("uk", kind="survey", paused=True, caller_id=None)
    decision = decide(facts, rules, History(), now)
    assert decision.reasons == ("dnc_internal", "erased", "invalid_number", "campaign_paused", "no_caller_id")
    assert decision.next_allowed_at is None


def test_reasons_come_in_the_fixed_vocabulary_order() -> None:
    now = local("Europe/London", 2026, 12, 1, 3, 0)
    facts = contact("Europe/London", marketing_consent=None, opted_out_at=now, on_national_dnc=True)
    decision = decide(facts, preset_rules("uk", paused=True), History(), now)
    assert decision.reasons == ("outside_hours", "dnc_national", "opted_out", "no_consent", "campaign_paused")
    assert list(decision.reasons) == sorted(decision.reasons, key=REASONS.index)


def test_cn_allows_three_attempts_a_local_day_then_opens_at_the_next_window() -> None:
    zone = "Asia/Shanghai"
    times = [local(zone, 2026, 12, 1, h, 0) for h in (9, 12, 15)]
    history = History.of((t, "no_answer") for t in times)
    now = local(zone, 2026, 12, 1, 18, 0)
    decision = decide(contact(zone), preset_rules("cn", kind="survey"), history, now)
    assert decision.reasons == ("cap_day",)
    assert decision.next_allowed_at == local(zone, 2026, 12, 2, 9, 0)


def test_rolling_24h_cap_counts_across_midnight() -> None:
    zone = "Asia/Shanghai"
    history = History.of(
        [(local(zone, 2026, 12, 1, 20, 0), "busy"), (local(zone, 2026, 12, 1, 20, 30), "busy")]
    )
    rules = preset_rules("cn", kind="survey", cap_24h=2)
    now = local(zone, 2026, 12, 2, 9, 0)  # a new local day, but within 24 hours of both
    decision = decide(contact(zone), rules, history, now)
    assert decision.reasons == ("cap_24h",)
    assert decision.next_allowed_at == local(zone, 2026, 12, 2, 20, 0)  # the older one leaves the window


def test_total_cap_never_opens_again() -> None:
    zone = "Asia/Shanghai"
    history = History.of([(local(zone, 2026, 11, d, 10, 0), "no_answer") for d in (1, 2, 3)])
    decision = decide(
        contact(zone), preset_rules("cn", kind="survey", cap_total=3), history, local(zone, 2026, 12, 1, 10)
    )
    assert decision.reasons == ("cap_total",)
    assert decision.next_allowed_at is None


def test_min_gap_and_uk_abandon_lock_open_at_the_exact_instant() -> None:
    zone = "Europe/London"
    dropped = local(zone, 2026, 12, 1, 10, 0)
    rules = preset_rules("uk", kind="survey", min_gap=timedelta(hours=4))
    now = local(zone, 2026, 12, 1, 11, 0)
    decision = decide(contact(zone), rules, History.of([(dropped, "abandoned")]), now)
    assert decision.reasons == ("min_gap", "abandon_lock")
    assert decision.next_allowed_at == dropped + timedelta(hours=72)
    decision = decide(contact(zone), rules, History.of([(dropped, "busy")]), now)
    assert decision.next_allowed_at == dropped + timedelta(hours=4)


def test_a_time_based_block_together_with_a_lasting_one_gives_no_next_time() -> None:
    now = local("Europe/London", 2026, 12, 1, 23, 0)
    decision = decide(contact("Europe/London", opted_out_at=now), preset_rules("uk"), History(), now)
    assert decision.reasons == ("outside_hours", "opted_out")
    assert decision.next_allowed_at is None
    assert {"outside_hours"} <= TIME_BASED and "opted_out" not in TIME_BASED


def test_calling_days_are_the_called_partys_local_days() -> None:
    rules = preset_rules("cn", kind="survey", days=frozenset({"mon", "tue", "wed", "thu", "fri"}))
    zone = "Asia/Shanghai"
    saturday = local(zone, 2026, 12, 5, 10, 0)
    decision = decide(contact(zone), rules, History(), saturday)
    assert decision.reasons == ("day_not_allowed",)
    assert decision.next_allowed_at == local(zone, 2026, 12, 7, 9, 0)
    # 01:00 UTC on Saturday is already Saturday 09:00 in Shanghai but still Friday in New York
    friday_ny = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    assert decide(contact(zone), rules, History(), friday_ny).reasons == ("day_not_allowed",)


# --- daylight saving: both directions, several zones ------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day_before", "day_of", "utc_open_before", "utc_open_after"),
    [
        # spring forward: 09:00 local moves one hour earlier in UTC
        ("America/New_York", (2026, 3, 7), (2026, 3, 8), 14, 13),
        ("Europe/London", (2026, 3, 28), (2026, 3, 29), 9, 8),
        ("Australia/Sydney", (2026, 10, 3), (2026, 10, 4), -1, -2),  # AEST+10 -> AEDT+11
        # fall back: 09:00 local moves one hour later in UTC
        ("America/New_York", (2026, 10, 31), (2026, 11, 1), 13, 14),
        ("Europe/London", (2026, 10, 24), (2026, 10, 25), 8, 9),
        ("America/Los_Angeles", (2026, 10, 31), (2026, 11, 1), 16, 17),
        ("Australia/Sydney", (2026, 4, 4), (2026, 4, 5), -2, -1),  # AEDT+11 -> AEST+10
    ],
)
def test_the_window_opens_at_nine_local_on_both_sides_of_a_dst_change(
    zone: str, day_before: tuple, day_of: tuple, utc_open_before: int, utc_open_after: int
) -> None:
    rules = preset_rules("cn", kind="survey")  # 09:00-21:00
    for day, utc_hour in ((day_before, utc_open_before), (day_of, utc_open_after)):
        opens = local(zone, *day, 9, 0)
        base = datetime(*day, tzinfo=UTC) + timedelta(hours=utc_hour)
        assert opens == base
        assert decide(contact(zone), rules, History(), opens).allowed
        before = decide(contact(zone), rules, History(), opens - timedelta(seconds=1))
        assert before.reasons == ("outside_hours",)
        assert before.next_allowed_at == opens


def test_a_window_starting_in_the_skipped_hour_opens_at_the_transition() -> None:
    zone = "America/New_York"
    rules = preset_rules("cn", kind="survey", hours_start=time(2, 30))
    midnight = local(zone, 2026, 3, 8, 0, 0)
    decision = decide(contact(zone), rules, History(), midnight)
    assert decision.next_allowed_at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT
    assert decide(contact(zone), rules, History(), decision.next_allowed_at).allowed
    assert not decide(
        contact(zone), rules, History(), decision.next_allowed_at - timedelta(seconds=1)
    ).allowed


def test_in_the_repeated_hour_the_window_end_is_the_wall_clock() -> None:
    zone = "America/New_York"
    rules = preset_rules("cn", kind="survey", hours_start=time(0, 0), hours_end=time(1, 30))
    first_0115 = datetime(2026, 11, 1, 5, 15, tzinfo=UTC)  # 01:15 EDT
    second_0115 = datetime(2026, 11, 1, 6, 15, tzinfo=UTC)  # 01:15 EST
    assert decide(contact(zone), rules, History(), first_0115).allowed
    assert decide(contact(zone), rules, History(), second_0115).allowed
    assert not decide(contact(zone), rules, History(), datetime(2026, 11, 1, 5, 45, tzinfo=UTC)).allowed


def test_cap_day_resets_at_local_midnight_across_a_dst_change() -> None:
    zone = "Europe/London"
    rules = preset_rules("cn", kind="survey", hours_start=time(0, 0), hours_end=time(23, 59), cap_per_day=1)
    history = History.of([(local(zone, 2026, 3, 28, 22, 0), "busy")])
    decision = decide(contact(zone), rules, history, local(zone, 2026, 3, 28, 23, 0))
    assert decision.reasons == ("cap_day",)
    assert (
        decision.next_allowed_at == local(zone, 2026, 3, 29, 0, 0) == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    )


# --- numbers that map to several zones ------------------------------------------------------------

US_WIDE = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")


def test_a_number_in_several_zones_is_called_only_when_every_zone_is_inside_the_window() -> None:
    rules = preset_rules("us", kind="survey")  # 08:00-21:00
    facts = contact("x", zones=US_WIDE)
    eight_ny = local("America/New_York", 2026, 12, 1, 8, 0)  # 05:00 in Los Angeles
    decision = decide(facts, rules, History(), eight_ny)
    assert decision.reasons == ("outside_hours",)
    assert decision.next_allowed_at == local("America/Los_Angeles", 2026, 12, 1, 8, 0)
    assert decide(facts, rules, History(), decision.next_allowed_at).allowed
    late_ny = local("America/New_York", 2026, 12, 1, 21, 0)  # 18:00 in Los Angeles
    assert decide(facts, rules, History(), late_ny).reasons == ("outside_hours",)


def test_the_contacts_own_zone_wins_over_the_numbers_zones() -> None:
    rules = preset_rules("us", kind="survey")
    own = contact("America/New_York", zones=("America/New_York",))
    eight_ny = local("America/New_York", 2026, 12, 1, 8, 0)
    assert decide(own, rules, History(), eight_ny).allowed


def test_zones_whose_windows_never_overlap_give_no_next_time() -> None:
    rules = preset_rules("cn", kind="survey", hours_end=time(10, 0))  # one-hour windows
    facts = contact("x", zones=("Asia/Shanghai", "Europe/London"))  # eight hours apart
    decision = decide(facts, rules, History(), datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    assert decision.reasons == ("outside_hours",)
    assert decision.next_allowed_at is None
