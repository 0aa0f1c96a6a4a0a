"""The pacer's promises, for any state it may be asked about (hypothesis), and the mock trunk's model."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.pacing import CountingSink as NoSink
from bench.pacing import EndlessLeads
from cctool.clock import VirtualClock
from cctool.dialengine import WEIGH_BY, Call, Engine, Lead
from cctool.errors import UserError
from cctool.mocktrunk import CallModel, MockTrunk
from cctool.pacer import Pacer
from cctool.trunk import CallResult
from tests.dialer_support import START


def trained(agents: int, live: int, abandoned: int) -> Pacer:
    pacer = Pacer(agents, 0.03, prior_live=live, prior_abandoned=abandoned)
    for i in range(400):
        pacer.observe_ring_end(i % 4 == 0, 4 + (i * 7) % 12)
    return pacer


states = st.fixed_dictionaries(
    {
        "agents": st.integers(1, 60),
        "now": st.floats(100, 30000),
        "ringing": st.dictionaries(st.integers(0, 25), st.integers(1, 20), max_size=8),
        "waiting": st.integers(0, 5),
        "free": st.integers(0, 60),
        "wraps": st.lists(st.floats(0, 30), max_size=20),
        "talks": st.lists(st.floats(0, 900), max_size=60),
        "live": st.integers(0, 5000),
        "abandoned": st.integers(0, 300),
    }
)


def ask(pacer: Pacer, s: dict, extra_ringing: int = 0) -> int:
    now = s["now"]
    ringing = {int(now) - age: n for age, n in s["ringing"].items()}
    if extra_ringing:
        ringing[int(now)] = ringing.get(int(now), 0) + extra_ringing
    return pacer.lines(
        now, ringing, s["waiting"], min(s["free"], s["agents"]), [now - w for w in s["wraps"]],
        [now - t for t in s["talks"]],
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(states)
def test_never_negative_and_never_leaves_a_free_agent_without_a_call(s: dict) -> None:
    pacer = trained(s["agents"], s["live"], s["abandoned"])
    lines = ask(pacer, s)
    in_flight = sum(s["ringing"].values())
    assert lines >= 0
    assert lines >= min(s["free"], s["agents"]) - s["waiting"] - in_flight


@settings(max_examples=300, deadline=None)
@given(states)
def test_with_the_window_at_the_cap_it_dials_one_line_per_free_agent(s: dict) -> None:
    pacer = trained(s["agents"], max(s["live"], 1), s["abandoned"])
    pacer.abandoned = max(pacer.abandoned, math.ceil(pacer.cap * pacer.live))  # the window is at the cap
    lines = ask(pacer, s)
    in_flight = sum(s["ringing"].values())
    # a call ringing 2 s past the longest live ring measured (15 s here) covers no agent
    covering = sum(n for age, n in s["ringing"].items() if age < 17)
    uncovered = min(min(s["free"], s["agents"]) - s["waiting"] - covering, pacer.max_lines - in_flight)
    assert lines == max(uncovered, 0)


def test_an_agent_whose_only_call_rang_past_every_live_answer_gets_a_new_call_at_the_cap() -> None:
    pacer = trained(5, 1000, 30)  # at the cap: one line per free agent only
    ringing = {1000 - 16: 1}  # dialed 16 s ago: live answers were measured up to 15 s
    assert pacer.lines(1000.0, ringing, 0, 1, [], []) == 0  # 16 s: may still be a person, by the bins
    ringing = {1000 - 17: 1}
    assert pacer.lines(1000.0, ringing, 0, 1, [], []) == 1


@settings(max_examples=300, deadline=None)
@given(states, st.integers(1, 80), st.integers(0, 5000), st.integers(0, 150))
def test_it_never_dials_more_than_the_lines_and_channels_allow(
    s: dict, channels: int, live: int, abandoned: int
) -> None:
    pacer = trained(s["agents"], live, abandoned)
    pacer.max_channels = channels
    pacer.log_beta = math.log(0.5)  # the most daring budget
    lines = ask(pacer, s)
    in_flight = sum(s["ringing"].values())
    held = in_flight + s["waiting"] + len(s["talks"])  # ringing, waiting for an agent, talking
    assert lines >= 0
    assert lines <= max(channels - held, 0)
    assert in_flight + lines <= max(pacer.max_lines, in_flight)


@settings(max_examples=200, deadline=None)
@given(states, st.integers(1, 30))
def test_more_calls_already_ringing_never_means_more_new_calls(s: dict, more: int) -> None:
    pacer = trained(s["agents"], 3000, 10)
    assert ask(pacer, s, extra_ringing=more) <= ask(pacer, s)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=200))
def test_each_abandoned_call_tightens_the_budget(outcomes: list[bool]) -> None:
    pacer = Pacer(20, 0.03, prior_live=1000, prior_abandoned=10)
    for abandoned in outcomes:
        before = pacer.beta()
        pacer.observe_live(abandoned)
        assert (pacer.beta() < before) if abandoned else (pacer.beta() >= before)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 200), st.booleans()), max_size=60), st.floats(0, 200))
def test_a_new_window_counts_only_the_calls_dialed_in_it(
    calls: list[tuple[float, bool]], start: float
) -> None:
    """After `reset_window(..., from_s)` an outcome counts in the window only if its call was dialed from
    `from_s` on: a call dialed the day before counts in that day's window."""
    pacer = Pacer(20, 0.03, prior_live=500, prior_abandoned=5)
    pacer.reset_window(7, 1, start)
    for dialed_s, abandoned in calls:
        pacer.observe_live(abandoned, dialed_s)
    counted = [abandoned for dialed_s, abandoned in calls if dialed_s >= start]
    assert (pacer.live, pacer.abandoned) == (7 + len(counted), 1 + sum(counted))


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_ringing(self, call_no: int) -> None:
        self.events.append(("ringing", call_no))

    def on_answer(self, call_no: int, machine: bool) -> None:
        self.events.append(("answer", call_no, machine))

    def on_end(self, call_no: int, result: CallResult) -> None:
        self.events.append(("end", call_no, result.outcome, round(result.ring_s, 6)))


def play(seed: int, model: CallModel | None = None, calls: int = 400) -> list[tuple]:
    clock = VirtualClock(START)
    trunk, events = MockTrunk(model, seed), Recorder()
    trunk.start(clock, events)
    for n in range(calls):
        trunk.dial(n, f"+1212555{n:04d}", "+14155550100", 20)
    clock.run_until(START.replace(hour=23))
    trunk.close()
    return events.events


def test_the_mock_trunk_is_the_same_for_the_same_seed_and_follows_its_model() -> None:
    first = play(1)
    assert first == play(1) and first != play(2)
    ends = [e for e in first if e[0] == "end"]
    assert len(ends) == 400  # every dial ends exactly once
    outcomes = {o: sum(1 for e in ends if e[2] == o) for o in ("busy", "voicemail", "no_answer")}
    live = sum(1 for e in first if e[0] == "answer" and not e[2])
    assert 60 <= live <= 140 and 20 <= outcomes["busy"] <= 65 and 20 <= outcomes["voicemail"] <= 65
    assert all(e[3] == 3.0 for e in ends if e[2] == "busy")


def test_a_model_file_is_checked(tmp_path: Path) -> None:
    good = tmp_path / "m.yaml"
    good.write_text(
        "live_rate: 0.3\naht_s: 120\ndispositions: {completed: 2, refused: 1}\n", encoding="utf-8"
    )
    model = CallModel.from_file(good)
    assert model.live_rate == 0.3 and model.disposition_table(None)[0] == ["completed", "refused"]
    for text, message in [
        ("live_rate: 0.9\nbusy_rate: 0.5\n", "sum to <= 1"),
        ("aht_s: fast\n", "aht_s must be a number"),
        ("- 1\n", "must be a mapping"),
        ("a: [\n", "not valid YAML"),
    ]:
        good.write_text(text, encoding="utf-8")
        with pytest.raises(UserError, match=message):
            CallModel.from_file(good)
    with pytest.raises(UserError, match="does not exist"):
        CallModel.from_file(tmp_path / "missing.yaml")


def test_dispositions_a_campaign_names_take_the_weight_of_those_it_lacks() -> None:
    names, cumulative = CallModel().disposition_table(["completed", "refused", "callback", "dnc_request"])
    assert names == ["completed", "refused", "callback", "dnc_request"]
    assert cumulative[-1] == pytest.approx(1.0) and cumulative[0] > 0.3


def sure_trained(live: int, abandoned: int) -> Pacer:
    """Measured: live answers after 4 to 15.9 s, wrap-ups of exactly 15 s."""
    pacer = trained(5, live, abandoned)
    for i in range(400):
        pacer.observe_ring_end(True, 4.0 + (i % 120) / 10)
        pacer.observe_wrap(15.0)
    return pacer


def test_at_the_cap_an_agent_surely_free_before_any_answer_needs_it_gets_a_call_in_wrap_up() -> None:
    pacer = sure_trained(1000, 30)  # at the cap: only calls that cannot be abandoned
    now = 5000.0
    # dialed now, a person answers no sooner than 4 s (less the margin), and may wait 2 s: an agent whose
    # 15-s wrap-up ends within about 6 s is surely free in time; one ending 6.5 s from now may not be
    assert pacer.lines(now, {}, 0, 0, [now - 9.2], []) == 1
    assert pacer.lines(now, {}, 0, 0, [now - 8.5], []) == 0
    # the call already ringing for that agent covers it; a call ringing past every live answer does not
    assert pacer.lines(now, {int(now) - 3: 1}, 0, 0, [now - 9.2], []) == 0
    assert pacer.lines(now, {int(now) - 18: 1}, 0, 0, [now - 9.2], []) == 1
    # a person waiting for an agent takes the first agent free
    assert pacer.lines(now, {}, 1, 0, [now - 9.2], []) == 0


def test_until_wrap_ups_are_measured_no_agent_in_wrap_up_counts_as_surely_free() -> None:
    pacer = trained(5, 1000, 30)
    assert pacer.lines(5000.0, {}, 0, 0, [5000.0 - 14.9], []) == 0


def shift(pacer: Pacer | None, agents: int = 5, hours: float = 2.0, seed: int = 3) -> Any:
    model = CallModel()
    mode = "progressive" if pacer is None else "predictive"
    engine = Engine(
        VirtualClock(START), MockTrunk(model, seed), model, agents=agents, mode=mode,
        source=EndlessLeads(), sink=NoSink(), pacer=pacer, seed=seed,
    )  # fmt: skip
    return engine.run(hours * 3600)


def test_a_window_at_its_cap_abandons_nothing_and_keeps_agents_busier_than_one_line_per_agent() -> None:
    at_cap = shift(Pacer(5, 0.03, prior_live=1000, prior_abandoned=40))  # over the cap throughout
    progressive = shift(None)
    assert at_cap.live > 100 and at_cap.abandoned == 0
    assert at_cap.occupancy > progressive.occupancy + 0.02


@settings(max_examples=200, deadline=None)
@given(states)
def test_a_higher_dial_rate_never_means_more_new_calls(s: dict) -> None:
    # the calls the pacer will dial after a new one, answered first, count against it: the faster it has
    # been dialing, the more of them
    pacer = trained(s["agents"], 3000, 10)
    before = ask(pacer, s)  # the first decision works the expected later live answers out
    assert any(pacer.later)
    pacer.later = tuple(2.0 * x for x in pacer.later)
    assert ask(pacer, s) <= before


def test_an_agent_whose_break_is_due_after_wrap_up_is_not_counted_on_to_take_a_call() -> None:
    # it leaves wrap-up for the break, not for a call: a sure line dialed for it could be abandoned
    model, seen = CallModel(), []

    def tick(now: float) -> None:
        if not seen and engine.wrapping:
            agent = next(iter(engine.wrapping))
            before = len(engine._wrap_starts)
            engine._break_start((agent, 60.0))  # the supervisor sends it on a break while it wraps up
            seen.append((before, len(engine._wrap_starts), engine.break_due.get(agent)))

    engine = Engine(
        VirtualClock(START), MockTrunk(model, 4), model, agents=5, mode="predictive",
        source=EndlessLeads(), sink=NoSink(), pacer=Pacer(5, 0.03), seed=4, on_tick=tick,
    )  # fmt: skip
    stats = engine.run(1800)
    assert seen and seen[0][1] == seen[0][0] - 1 and seen[0][2] == 60.0
    assert stats.live > 20


class FewLeads:
    """A short list: the team runs out of people to call."""

    def __init__(self, total: int) -> None:
        self.total, self.given = total, 0

    def next_lead(self, now_s: float) -> Lead | None:
        if self.given == self.total:
            return None
        self.given += 1
        return Lead(self.given, f"+1415555{self.given:07d}")

    def finished(self, now_s: float) -> bool:
        return self.given == self.total


class Trace:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def attempt(self, call: Call) -> None:
        self.calls.append((call.no, call.lead.contact_id, call.dialed_s, call.outcome, call.agent))

    def blocked(self, lead: Lead, check: Any, now_s: float) -> None:
        pass


def test_a_large_team_that_runs_out_of_leads_dials_what_weighing_every_call_at_once_dials() -> None:
    # the engine weighs the calls a few at a time as it dials them (a large idle team with no lead left
    # no longer weighs thousands of calls at every decision): the same calls, at the same instants
    model, traces = CallModel(), []
    for weigh_by in (WEIGH_BY, None):
        sink = Trace()
        engine = Engine(
            VirtualClock(START), MockTrunk(model, 5), model, agents=100, mode="predictive",
            source=FewLeads(400), sink=sink, pacer=Pacer(100, 0.03), seed=5,
        )  # fmt: skip
        engine._weigh_by = weigh_by
        engine.run(3600)
        traces.append(sink.calls)
    assert len(traces[0]) == 400 and traces[0] == traces[1]
