"""Policy presets: the figures of ../shared/COMPLIANCE.md as data, one `Policy` per jurisdiction.

A campaign names a preset and may tighten any figure; loosening needs an audited override (campaigns).
`strict` takes the tighter of each figure across us, uk and cn.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import time, timedelta


@dataclass(frozen=True)
class Policy:
    name: str
    hours_start: time  # earliest local time of the called party
    hours_end: time  # latest local time (a call must start before it)
    registry_max_age: timedelta | None  # national DNC copy no older than this (None: no registry rule)
    abandon_cap: float  # abandoned / live answers
    abandon_window: str  # "30d" rolling (us) or "day" (uk)
    abandon_redial_lock: timedelta  # no redial after an abandoned call within this
    min_ring: timedelta  # ring at least this long before giving up
    max_attempts_per_day: int | None  # per contact, calendar day in the callee's zone
    refusal_block: timedelta | None  # block after a refusal (cn insurance telesales)
    record_retention: timedelta  # keep call records at least this long
    sources: tuple[str, ...] = field(default=())


DAY = timedelta(days=1)

PRESETS: dict[str, Policy] = {
    "us": Policy(
        name="us",
        hours_start=time(8, 0),
        hours_end=time(21, 0),
        registry_max_age=timedelta(days=31),
        abandon_cap=0.03,
        abandon_window="30d",
        abandon_redial_lock=timedelta(0),
        min_ring=timedelta(seconds=15),
        max_attempts_per_day=None,
        refusal_block=None,
        record_retention=5 * 365 * DAY,
        sources=("16 CFR 310.4(c) calling hours", "16 CFR 310.4(b)(1)(iv) abandonment", "47 CFR 64.1200"),
    ),
    "uk": Policy(
        name="uk",
        hours_start=time(8, 0),
        hours_end=time(21, 0),
        registry_max_age=timedelta(days=28),
        abandon_cap=0.03,
        abandon_window="day",
        abandon_redial_lock=timedelta(hours=72),
        min_ring=timedelta(seconds=15),
        max_attempts_per_day=None,
        refusal_block=None,
        record_retention=365 * DAY,
        sources=("Ofcom persistent misuse policy", "PECR reg. 21", "hours: industry norm, unverified as law"),
    ),
    "cn": Policy(
        name="cn",
        hours_start=time(9, 0),
        hours_end=time(21, 0),
        registry_max_age=None,
        abandon_cap=0.03,
        abandon_window="30d",
        abandon_redial_lock=timedelta(0),
        min_ring=timedelta(seconds=15),
        max_attempts_per_day=3,
        refusal_block=timedelta(days=183),
        record_retention=30 * DAY,
        sources=(
            "PIPL arts. 15, 24, 47",
            "MIIT call-centre notice",
            "3 calls a day: unverified common practice",
        ),
    ),
}


def _tighter(policies: list[Policy]) -> Policy:
    def least(values):  # None means "no limit": any figure is tighter than none
        present = [v for v in values if v is not None]
        return min(present) if present else None

    return Policy(
        name="strict",
        hours_start=max(p.hours_start for p in policies),
        hours_end=min(p.hours_end for p in policies),
        registry_max_age=least(p.registry_max_age for p in policies),
        abandon_cap=min(p.abandon_cap for p in policies),
        abandon_window="day" if any(p.abandon_window == "day" for p in policies) else "30d",
        abandon_redial_lock=max(p.abandon_redial_lock for p in policies),
        min_ring=max(p.min_ring for p in policies),
        max_attempts_per_day=least(p.max_attempts_per_day for p in policies),
        refusal_block=max((p.refusal_block for p in policies if p.refusal_block), default=None),
        record_retention=max(p.record_retention for p in policies),
        sources=("the tighter of us, uk and cn",),
    )


PRESETS["strict"] = _tighter([PRESETS["us"], PRESETS["uk"], PRESETS["cn"]])

# The preset that governs a contact when no campaign says otherwise (e.g. callbacks), by number region.
# Guernsey, Jersey and the Isle of Man share +44 and the UK rules a UK caller applies to them.
REGION_PRESET = {"US": "us", "CA": "us", "GB": "uk", "GG": "uk", "JE": "uk", "IM": "uk", "CN": "cn"}


def preset(name: str) -> Policy:
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown policy {name!r}: choose one of {', '.join(sorted(PRESETS))}") from None


def for_region(region: str | None) -> Policy:
    return PRESETS[REGION_PRESET.get((region or "").upper(), "strict")]


def tightened(base: Policy, **changes) -> Policy:
    return replace(base, **changes)
