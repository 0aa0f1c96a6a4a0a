"""The pacer's fast path (unrolled, cached, lazy) answers exactly what the plain formula answers."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from cctool.pacer import Pacer

SQRT2 = math.sqrt(2.0)


def sure_lead(p: Pacer) -> float:
    """An agent that began wrap-up this long before now (or earlier) is surely free for a call dialed now."""
    if p.wrap_n < p.sure_after:
        return -math.inf
    shortest_live = 0.0
    if p.live_n >= p.sure_after:
        shortest_live = max(p.live_min - (p.live_max - p.live_min) / p.live_n, 0.0)
    longest_wrap = p.wrap_max + (p.wrap_max - p.wrap_min) / p.wrap_n
    return shortest_live + 2.0 - longest_wrap - 0.05


def plain_lines(p: Pacer, now, ringing, waiting, free, wrap_starts, talk_starts, first_s) -> int:
    """The method as the module docstring states it, written out with lists and no caching."""
    in_flight = sum(ringing.values())
    channels = p.max_lines - in_flight
    if p.max_channels is not None:
        channels = min(channels, p.max_channels - in_flight - waiting - len(talk_starts))
    covering = sum(n for second, n in ringing.items() if int(now) - second < p.live_top + 2)
    sure = sum(1 for start in wrap_starts if start <= now + sure_lead(p))
    uncovered = max(min(free + sure - waiting - covering, channels), 0)
    if p.measured_calls < 50 or p.abandoned + p.hard_room > p.cap * p.live:
        return uncovered
    if channels <= 0:
        return 0
    points = p.r_points
    # calls dialed later that answer first: the dial rate measured since the first decision (at least a
    # minute), times later_k / agents, times the live answers expected by r from one call dialed a second
    calls = sum(p.live_ring) + sum(p.other_end)
    rate = p.later_k / p.agents * p.measured_calls / max(now - first_s, 60.0)
    later = []
    for r in points:
        o = int(r + 0.5)
        later.append(rate * sum(sum(p.live_ring[: o - j]) for j in range(o + 1)) / calls)
    mean = [float(free - waiting) - f for f in later]
    var = later
    for second, count in ringing.items():
        age = int(now) - second
        if age >= p.q_dead:
            continue
        for k in range(len(points)):
            q = p.q_rows[age][k]
            mean[k] -= count * q
            var[k] += count * q * (1.0 - q)
    cw, total = p.wrap_cum, p.wrap_total
    for start in wrap_starts:
        a = min(int(now - start), len(cw) - 1)
        left = total - cw[a]
        for k, r in enumerate(points):
            e = min(int(now - start + r + 2.0), len(cw) - 1)
            q = 1.0 if left <= 1e-9 else (cw[e] - cw[a]) / left
            mean[k] += q
            var[k] += q * (1.0 - q)
    p._extend_hazard(3600)
    hz = p._hazard
    rate = sum(hz[min(int(now - start), len(hz) - 1)] for start in talk_starts)
    for k, r in enumerate(points):
        if r + 2.0 > p.wrap_mean:
            mean[k] += rate * (r + 2.0 - p.wrap_mean)
            var[k] += rate * (r + 2.0 - p.wrap_mean)
    # idle agents less those the calls in flight are expected to serve by the first point
    budget = p.beta() / (1.0 + p.idle_cut * max(min(free - waiting, mean[0]), 0))
    weights = [1.0 + p.tilt, 1.0, 1.0, 1.0 - p.tilt]  # the soonest point weighs most
    n = 0
    while n < channels:
        risk = 0.0
        for m, v, g, w in zip(mean, var, p.g, weights):
            m, v = m - n * g, v + n * g * (1.0 - g)
            risk += w * (
                (1.0 if m < 0.5 else 0.0) if v <= 1e-12 else 0.5 * math.erfc((m - 0.5) / math.sqrt(v) / SQRT2)
            )
        if risk / len(points) > budget:
            break
        n += 1
    # the hard rule: the calls that may be abandoned (those that may bring a person and waiting ones, past
    # the agents surely free for them) never outnumber the largest k with abandoned + k <= cap (live + k)
    room = max((k for k in range(0, 10_000) if p.abandoned + k <= p.cap * (p.live + k) - 1e-9), default=0)
    at_risk = covering + waiting - free - sure
    n = min(n, max(room - at_risk, 0))
    return max(n, uncovered)


states = st.fixed_dictionaries(
    {
        "agents": st.integers(1, 60),
        "now": st.floats(100, 30000),
        "ringing": st.dictionaries(st.integers(0, 25), st.integers(1, 6), max_size=10),
        "waiting": st.integers(0, 3),
        "free": st.integers(0, 10),
        "wraps": st.lists(st.floats(0, 40), max_size=12),
        "talks": st.lists(st.floats(0, 4000), max_size=50),
        "live": st.integers(40, 5000),
        "abandoned": st.integers(0, 60),
        "log_beta": st.floats(-6.0, -0.7),
        "wrap_s": st.floats(1, 60),
    }
)


def measured(s: dict) -> tuple[Pacer, tuple]:
    """A pacer with 400 calls measured, and the arguments of a decision in state `s`."""
    pacer = Pacer(s["agents"], 0.03, prior_live=s["live"], prior_abandoned=s["abandoned"])
    for i in range(400):
        pacer.observe_ring_end(i % 4 == 0, 3 + (i * 7) % 15)
        pacer.observe_talk(60 + (i * 13) % 400)
        pacer.observe_wrap(s["wrap_s"] + i % 3)
    pacer.log_beta = s["log_beta"]
    now = s["now"]
    ringing = {int(now) - age: n for age, n in s["ringing"].items()}
    args = (now, ringing, s["waiting"], min(s["free"], s["agents"]),
            [now - w for w in s["wraps"]], [now - t for t in s["talks"]])  # fmt: skip
    return pacer, args


@settings(max_examples=400, deadline=None)
@given(states)
def test_the_fast_path_answers_what_the_plain_formula_answers(s: dict) -> None:
    pacer, args = measured(s)
    now = args[0]
    fast = pacer.lines(*args)
    assert fast == plain_lines(pacer, *args, first_s=now)  # the first decision: the rate over a minute
    assert pacer.lines(*args) == fast  # asked again (cached tables): the same answer


@settings(max_examples=300, deadline=None)
@given(states, st.integers(1, 3))
def test_weighing_a_few_calls_at_a_time_comes_to_the_same_calls(s: dict, most: int) -> None:
    # the engine asks for a few calls at a time (`more()` as it dials them): the same calls in all
    pacer, args = measured(s)
    whole = pacer.lines(*args)
    n = in_all = pacer.lines(*args, most=most)
    while n >= most:  # as the engine asks once it has dialed them
        n = pacer.more(most)
        assert 0 <= n <= most
        in_all += n
    assert in_all == whole
    assert pacer.more(most) == 0  # nothing more once the weighing is done


@settings(max_examples=200, deadline=None)
@given(
    # ages a whole second apart from any integer by more than the sums' rounding
    st.lists(
        st.floats(1, 3000).filter(lambda a: abs(a - round(a)) > 1e-6), min_size=2, max_size=60, unique=True
    ),
    st.floats(20000, 30000),
    st.integers(0, 4),
    st.booleans(),
)
def test_a_talk_that_begins_or_ends_updates_the_talk_sum_without_a_new_sum(
    ages: list[float], now: float, later: int, begins: bool
) -> None:
    pacer = Pacer(20, 0.03)
    pacer._refresh()
    talks = [now - age for age in ages]
    pacer._talk_adds(now, talks)
    when = now + later
    after = talks[:-1] if not begins else [*talks, when - 0.5]
    got = pacer._talk_adds(when, after)
    # the others' hazards are taken as they were up to `later` seconds ago: exact at once, and off by no
    # more than their steps in the hazard table since
    full = pacer._talk_rate(when, after)
    hz = pacer._hazard
    step = max(abs(hz[i + 1] - hz[i]) for i in range(len(hz) - 1))
    tolerance = 1e-9 + later * (len(after) + 1) * step
    assert all(abs(g - full * h) <= tolerance * h + 1e-12 for g, h in zip(got, pacer.late_h))
