"""The abandonment cap is a hard limit: no run ends over it, and no instant of a run is over it.

The pacer never has more calls that may still be abandoned than the abandoned calls left under the cap
(`Pacer.room()`), so even if every one of them were abandoned the window would stay within the cap.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.pacing import CountingSink, EndlessLeads
from cctool.clock import VirtualClock
from cctool.dialengine import Engine
from cctool.mocktrunk import CallModel, MockTrunk
from cctool.pacer import Pacer
from tests.dialer_support import START
from tests.test_pacer import trained


@settings(max_examples=40, deadline=None)
@given(
    agents=st.integers(2, 40),
    seed=st.integers(0, 10_000),
    prior_live=st.integers(0, 3000),
    slack=st.integers(0, 6),
    beta=st.floats(0.02, 0.2),
)
def test_whatever_the_budget_no_run_ends_over_the_cap_nor_goes_over_it_at_any_instant(
    agents: int, seed: int, prior_live: int, slack: int, beta: float
) -> None:
    # a short run on an empty window (prior_live 0) or one with a few abandoned calls of room; the budget
    # is held at `beta` whatever happens (a greedy one, too): the cap must not rest on its tuning
    prior_abandoned = max(int(0.03 * prior_live) - slack, 0)
    pacer = Pacer(agents, 0.03, prior_live=prior_live, prior_abandoned=prior_abandoned)
    pacer.log_beta, pacer.gain, pacer.kp = math.log(beta), 0.0, 0.0
    model = CallModel()
    engine = Engine(
        VirtualClock(START), MockTrunk(model, seed), model, agents=agents, mode="predictive",
        source=EndlessLeads(), sink=CountingSink(), pacer=pacer, seed=seed,
    )  # fmt: skip
    stats = engine.run(600)
    assert stats.live > 0
    assert pacer.abandoned == prior_abandoned + stats.abandoned
    assert pacer.abandoned <= 0.03 * pacer.live  # at the end, calls in flight included (the run drains them)
    assert pacer.worst_excess <= 0.0  # and at every abandoned call


def test_room_counts_that_each_abandoned_call_is_also_a_live_answer() -> None:
    assert Pacer(5, 0.03, prior_live=1000, prior_abandoned=29).room() == 1  # 30 <= 0.03 x 1001: one
    assert Pacer(5, 0.03, prior_live=1000, prior_abandoned=28).room() == 2  # 28 + 2 <= 0.03 x 1002
    assert Pacer(5, 0.03, prior_live=1000, prior_abandoned=30).room() == 0  # at the cap
    assert Pacer(5, 0.03, prior_live=1000, prior_abandoned=40).room() == 0  # over it
    assert Pacer(5, 0.03).room() == 0  # an empty window
    # 3 more abandoned on 3 more live answers: 30 / 1000 is exactly the cap; the room stops short of it
    assert Pacer(5, 0.03, prior_live=997, prior_abandoned=27).room() == 2


def test_with_room_for_one_abandoned_call_three_uncovered_calls_in_flight_get_no_company() -> None:
    now = 5000.0
    # no agent idle; six are a second from the end of a wrap-up, but wrap-ups are not measured yet, so
    # none is surely free: the three calls just dialed may all be abandoned
    state = (now, {int(now) - 1: 3}, 0, 0, [now - 14.5] * 6, [now - 100.0] * 4)
    loose = trained(10, 1000, 20)  # room for 10 abandoned calls
    loose.log_beta = math.log(0.2)
    assert loose.room() == 10
    assert loose.lines(*state) >= 2  # the budget alone would dial ahead of the six agents
    tight = trained(10, 1000, 29)  # room for one
    tight.log_beta = math.log(0.2)
    assert tight.room() == 1
    assert tight.lines(*state) == 0  # three may be abandoned already: not one more
    four = trained(10, 1000, 26)  # room for four: one more
    four.log_beta = math.log(0.2)
    assert four.room() == 4
    assert four.lines(*state) == 1
    # three idle agents cover the three calls: then one more line may be abandoned, not two
    idle = (now, {int(now) - 1: 3}, 0, 3, [now - 14.5] * 6, [now - 100.0] * 4)
    assert loose.lines(*idle) >= 2
    assert tight.lines(*idle) == 1
