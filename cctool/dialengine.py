"""The dialer's core loop: agents, calls, pacing and abandonment, on a clock and a trunk it is given.

It knows nothing of the database. Leads come from a `LeadSource`, every dial asks a `gate` (the
compliance decision at that instant), and every finished attempt or refused dial goes to a `Sink`. The
database-backed shell (`cctool.dialer`) supplies those three; the pacing benchmark supplies in-memory ones.

Agents are simulated: each connected call takes a talk time and a wrap-up time drawn from the model and
ends with a disposition from the model's mix. A live answer with no agent free within 2 seconds is
abandoned: the engine hangs up with the safe-harbour message, and the attempt says so.

A simulated shift is some 70,000 events, so the loop is kept lean: timers go through
`clock.schedule(seconds, callback, arg)` (no closure, no handle) and none is cancelled; an event that
has become moot (the talk timer of a call the callee already ended, the abandon timer of a call an agent
took meanwhile) sees so and does nothing. The pacer's inputs are kept up to date as calls start and end
(ringing calls counted by dial second, live views of when busy agents began talk or wrap-up), never
rebuilt per decision. Every random draw and the order of every event are what they were with closures and
handles, so a seed gives the same shift.
"""

from __future__ import annotations

import bisect
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .clock import Clock
from .mocktrunk import CallModel
from .pacer import FixedRatioPacer, Pacer
from .trunk import CallResult, Trunk, TrunkFatal

ABANDON_AFTER_S = 2.0  # a live answer must reach an agent within this
MODES = ("predictive", "progressive", "preview")
WEIGH_FIRST = 8  # the adaptive pacer weighs this many extra calls at first (mostly all there are) ...
WEIGH_BY = 32  # ... then this many at a time as they are dialed (`Pacer.more`)


@dataclass
class Lead:
    """One contact to dial (fresh, a due retry, or a due callback)."""

    contact_id: int | None
    phone: str
    callback_id: int | None = None
    callback_requested: bool = False
    extra: Any = None  # the shell's own bookkeeping


class LeadSource(Protocol):
    def next_lead(self, now_s: float) -> Lead | None:
        """The next lead to dial now, or None when none is due now."""
        ...

    def finished(self, now_s: float) -> bool:
        """True when no lead will ever be due again in this run."""
        ...


class Sink(Protocol):
    def attempt(self, call: Call) -> None: ...

    def blocked(self, lead: Lead, check: Any, now_s: float) -> None: ...


Gate = Callable[[Lead, float], Any]  # (lead, now_s) -> DialCheck-like with .allowed, .reasons, ...


class Call:
    """One attempt, from the dial to the end of the agent's wrap-up."""

    __slots__ = (
        "no",
        "lead",
        "check",
        "dialed_s",
        "dial_sec",
        "ringing",
        "answered_s",
        "live",
        "agent",
        "reserved",
        "ring_s",
        "outcome",
        "talk_s",
        "wrap_s",
        "connect_delay_s",
        "disposition",
        "abandoned",
        "safe_harbour",
        "ended_s",
        "sip_code",
        "call_id",
    )

    def __init__(self, no: int, lead: Lead, check: Any, now: float):
        self.no = no
        self.lead = lead
        self.check = check
        self.dialed_s = now
        self.dial_sec = int(now)
        self.ringing = True
        self.answered_s: float | None = None
        self.live = False
        self.agent: int | None = None
        self.reserved: int | None = None
        self.ring_s = 0.0
        self.outcome = ""
        self.talk_s: float | None = None
        self.wrap_s: float | None = None
        self.connect_delay_s: float | None = None
        self.disposition: str | None = None
        self.abandoned = False
        self.safe_harbour = False
        self.ended_s = now
        self.sip_code: int | None = None
        self.call_id: str | None = None


@dataclass
class Stats:
    dials: int = 0
    blocked: int = 0
    live: int = 0
    abandoned: int = 0
    connects: int = 0
    talk_s: float = 0.0
    wrap_s: float = 0.0
    logged_in_s: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    @property
    def occupancy(self) -> float:
        return (self.talk_s + self.wrap_s) / self.logged_in_s if self.logged_in_s else 0.0


IDLE, RESERVED, PREVIEW, TALK, WRAP, BREAK = range(6)


class Engine:
    """Runs agents and calls for a span of time; see the module docstring."""

    def __init__(
        self,
        clock: Clock,
        trunk: Trunk,
        model: CallModel,
        *,
        agents: int,
        source: LeadSource,
        sink: Sink,
        mode: str = "predictive",  # after the required ones: mypyc fails on a default before them
        gate: Gate | None = None,
        pacer: Pacer | FixedRatioPacer | None = None,
        caller_id: str = "",
        ring_timeout_s: float = 20.0,
        preview_s: float = 10.0,
        seed: int | None = 0,
        dispositions: list[str] | None = None,
        breaks: list[tuple[int, float, float]] | None = None,
        on_tick: Callable[[float], None] | None = None,
        tick_s: float = 1.0,
    ):
        if mode not in MODES:
            raise ValueError(f"unknown dial mode {mode!r}")
        self.clock, self.trunk, self.model = clock, trunk, model
        self.mode, self.source, self.sink, self.gate = mode, source, sink, gate
        self.n_agents = agents
        self.pacer = pacer if pacer is not None else Pacer(agents)
        self.caller_id, self.ring_timeout_s, self.preview_s = caller_id, ring_timeout_s, preview_s
        self.rng = random.Random(f"agents:{seed}")
        self.disp_names, self.disp_cum = model.disposition_table(dispositions)
        self._talk_mu, self._talk_sigma = model.talk_mu, model.talk_sigma
        self.breaks = breaks or []
        self.on_tick, self.tick_s = on_tick, tick_s
        self.stats = Stats()
        self.state = [IDLE] * agents
        self.since = [0.0] * agents
        self.idle: deque[int] = deque(range(agents))
        self.talking: dict[int, float] = {}
        self.wrapping: dict[int, float] = {}
        self.on_break: set[int] = set()
        self.break_due: dict[int, float] = {}
        self.calls: dict[int, Call] = {}
        self.ringing: dict[int, int] = {}  # dial second -> calls dialed then and still ringing
        # live views of the busy agents' start times, handed to the pacer as they are (no copy per call)
        # agents in wrap-up who will be free for a call when it ends (not those with a break due then)
        self._wrap_to_free: dict[int, float] = {}
        self._wrap_starts = self._wrap_to_free.values()
        self._talk_starts = self.talking.values()
        self._predictive = mode == "predictive"
        self.waiting: deque[Call] = deque()
        self._call_no = 0
        self._dialing = False
        self._last_pace = -1.0
        self._stop_at = 0.0
        self._done = False
        self.pace_gap_s = 0.2  # at most one pacing decision per this many seconds, but on free agents
        self._weigh_by = WEIGH_BY if isinstance(self.pacer, Pacer) else None  # see _pace
        self._break_taken: dict[int, float] = {}
        self.fatal: TrunkFatal | None = None  # the trunk cannot go on (e.g. rejected credentials)
        self._closing = False  # shutting down: calls that end now are recorded at once, no wrap-up

    # --- running ------------------------------------------------------------------------------------
    def run(self, for_s: float, speed: float | None = None) -> Stats:
        """Dial for `for_s` seconds of the clock, then let calls in flight finish."""
        clock = self.clock
        start = clock.seconds
        self._stop_at = start + for_s
        self.trunk.start(clock, self)
        for agent, at, length in self.breaks:
            if 0 <= agent < self.n_agents:
                clock.schedule(at, self._break_start, (agent, length))
        clock.schedule(0.0, self._tick, None)
        try:
            self._run_clock(self._stop_at, speed, stop=lambda: self.fatal is not None)
            self._dialing = False
            self._done = True
            # drain: calls in flight finish (ringing, talk, wrap); nothing new is dialed
            if self.calls:
                self._run_clock(self._stop_at + 3600.0 * 3, speed, stop=lambda: not self.calls)
        except KeyboardInterrupt:
            self.shutdown()
            self._log_out(start, min(self._stop_at, clock.seconds))
            raise
        self.trunk.close()
        if self.fatal is not None:
            raise self.fatal
        self._log_out(start, min(self._stop_at, start + for_s))
        return self.stats

    def _log_out(self, start: float, end: float) -> None:
        """Agents are logged in until the run stops dialing (early when nothing is left to dial, or when
        it is interrupted: its summary's occupancy is then over the time it ran, not 0)."""
        self.stats.logged_in_s += self.n_agents * (end - start) - sum(self._break_taken.values())

    @property
    def stop_at(self) -> float:
        """When dialing stops (clock seconds)."""
        return self._stop_at

    def shutdown(self) -> None:
        """Interrupted: dial nothing more, cancel ringing calls, hang up answered ones, record them all,
        and the calls in wrap-up too (their wrap-up timer will not run: the clock stops here)."""
        self._dialing, self._done, self._closing = False, True, True
        self.trunk.close()
        for call in [c for c in self.calls.values() if c.talk_s is not None and c.agent in self.wrapping]:
            self._wrap_end(call, call.agent)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Dial nothing more; calls in flight finish."""
        self._stop_at = min(self._stop_at, self.clock.seconds)
        self._dialing = False

    def _run_clock(self, end_s: float, speed: float | None, stop: Callable[[], bool] | None = None) -> None:
        clock = self.clock
        end = clock.at_seconds(end_s)
        if not speed:
            clock.run_until(end, stop)
            return
        wall0, sim0 = time.monotonic(), clock.seconds
        step = max(speed * 0.05, 0.05)
        while clock.seconds < end_s and not (stop is not None and stop()):
            target = min(clock.seconds + step, end_s)
            clock.run_until(clock.at_seconds(target), stop)
            lag = (target - sim0) / speed - (time.monotonic() - wall0)
            if lag > 0:
                time.sleep(lag)

    def _tick(self, _arg: None = None) -> None:
        if self._done:
            return
        now = self.clock.seconds
        if now >= self._stop_at:
            return
        self._dialing = True
        if self.on_tick is not None:
            self.on_tick(now)
        if not self.calls and self.source.finished(now):
            self._stop_at = now  # nothing left to dial: end the run early
            return
        self._pace(now, force=True)
        self.clock.schedule(self.tick_s, self._tick, None)

    # --- dialing ------------------------------------------------------------------------------------
    def _pace(self, now: float, force: bool = False) -> None:
        if not self._dialing or now >= self._stop_at:
            return
        if not self._predictive:
            while self.idle:
                agent = self.idle.popleft()
                started = (
                    self._start_preview(agent, now) if self.mode == "preview" else self._dial(now, agent)
                )
                if not started:
                    self.idle.appendleft(agent)
                    return
            return
        if not force and now - self._last_pace < self.pace_gap_s:
            return
        self._last_pace = now
        dial = self._dial
        if self._weigh_by is None:
            n = self.pacer.lines(
                now, self.ringing, len(self.waiting), len(self.idle), self._wrap_starts, self._talk_starts
            )
            for _ in range(n):
                if not dial(now):
                    return
            return
        # the adaptive pacer weighs the calls a few at a time, as they are dialed: when the leads run out
        # it has not weighed the thousands of calls a large idle team could take (the same calls in all)
        ask = WEIGH_FIRST
        pacer: Any = self.pacer
        n = pacer.lines(
            now, self.ringing, len(self.waiting), len(self.idle), self._wrap_starts, self._talk_starts, ask
        )
        while True:
            for _ in range(n):
                if not dial(now):
                    return
            if n < ask:  # the weighing was complete
                return
            ask = self._weigh_by
            n = pacer.more(ask)

    def _start_preview(self, agent: int, now: float) -> bool:
        found = self._next_allowed(now)
        if found is None:
            return False
        lead, check = found
        self.state[agent] = PREVIEW
        self.clock.schedule(self.preview_s, self._place_previewed, (lead, check, agent))
        return True

    def _place_previewed(self, args: tuple[Lead, Any, int]) -> None:
        self._place(*args)

    def _next_allowed(self, now: float) -> tuple[Lead, Any] | None:
        for _ in range(200):  # a long run of refusals waits for the next tick
            lead = self.source.next_lead(now)
            if lead is None:
                return None
            check = self.gate(lead, now) if self.gate is not None else None
            if check is not None and not check.allowed:
                self.stats.blocked += 1
                self.sink.blocked(lead, check, now)
                if not self._dialing:  # the refusal stopped the run (a campaign-wide reason)
                    return None
                continue
            return lead, check
        return None

    def _dial(self, now: float, reserved: int | None = None) -> bool:
        """Dial the next lead the gate allows (`_next_allowed` then `_place`, inlined: the hot path)."""
        source, gate = self.source, self.gate
        for _ in range(200):  # a long run of refusals waits for the next tick
            lead = source.next_lead(now)
            if lead is None:
                return False
            check = gate(lead, now) if gate is not None else None
            if check is not None and not check.allowed:
                self.stats.blocked += 1
                self.sink.blocked(lead, check, now)
                if not self._dialing:  # the refusal stopped the run (a campaign-wide reason)
                    return False
                continue
            self._place(lead, check, reserved)
            return True
        return False

    def _place(self, lead: Lead, check: Any, reserved: int | None) -> None:
        now = self.clock.seconds
        if reserved is not None and self.mode == "preview" and check is not None and self.gate is not None:
            # the preview took time: the decision is taken again at the instant of the dial
            check = self.gate(lead, now)
            if not check.allowed:
                self.stats.blocked += 1
                self.sink.blocked(lead, check, now)
                self._agent_free(reserved, now)
                return
        self._call_no = no = self._call_no + 1
        call = Call(no, lead, check, now)
        if reserved is not None:
            call.reserved = reserved
            self.state[reserved] = RESERVED
        self.calls[no] = call
        ringing, sec = self.ringing, call.dial_sec
        ringing[sec] = ringing.get(sec, 0) + 1
        self.stats.dials += 1
        try:
            self.trunk.dial(no, lead.phone, self.caller_id, self.ring_timeout_s)
        except TrunkFatal as exc:  # the call never started: undo it and stop the run
            del self.calls[call.no]
            self._stop_ringing(call)
            self.stats.dials -= 1
            if reserved is not None:
                self.state[reserved] = IDLE
                self.idle.append(reserved)
            self.fatal = exc
            self.stop()

    def _stop_ringing(self, call: Call) -> None:
        if call.ringing:
            call.ringing = False
            left = self.ringing[call.dial_sec] - 1
            if left:
                self.ringing[call.dial_sec] = left
            else:
                del self.ringing[call.dial_sec]

    # --- trunk events -------------------------------------------------------------------------------
    def on_ringing(self, call_no: int) -> None:
        pass

    def on_answer(self, call_no: int, machine: bool) -> None:
        call = self.calls.get(call_no)
        if call is None:
            return
        now = self.clock.seconds
        self._stop_ringing(call)
        call.answered_s = now
        call.ring_s = ring_s = now - call.dialed_s
        self.pacer.observe_ring_end(not machine, ring_s)
        if machine:
            return  # the trunk ends it as voicemail
        call.live = True
        self.stats.live += 1
        if call.reserved is not None:
            self._connect(call, call.reserved, now)
        elif self.idle:
            self._connect(call, self.idle.popleft(), now)
        else:
            self.waiting.append(call)
            self.clock.schedule(ABANDON_AFTER_S, self._abandon, call)

    def _connect(self, call: Call, agent: int, now: float) -> None:
        call.agent = agent
        call.connect_delay_s = now - (call.answered_s or now)
        self.state[agent] = TALK
        self.talking[agent] = now
        self.stats.connects += 1
        self.pacer.observe_live(False, call.dialed_s)
        talk = self.rng.lognormvariate(self._talk_mu, self._talk_sigma)
        self.clock.schedule(talk, self._talk_end, call)

    def _talk_end(self, call: Call) -> None:
        """The talk time drawn for the call is over: the agent hangs up (unless the callee already did)."""
        if call.talk_s is None and self.calls.get(call.no) is call:
            self.trunk.hangup(call.no)

    def _abandon(self, call: Call) -> None:
        """No agent took the live answer within 2 s (unless one did, or the callee hung up, meanwhile)."""
        if call.agent is not None:
            return
        try:
            self.waiting.remove(call)
        except ValueError:
            return
        call.abandoned = call.safe_harbour = True
        self.stats.abandoned += 1
        self.pacer.observe_live(True, call.dialed_s)
        self.trunk.hangup(call.no, safe_harbour=True)

    def on_end(self, call_no: int, result: CallResult) -> None:
        call = self.calls.get(call_no)
        if call is None:
            return
        now = self.clock.seconds
        call.sip_code, call.call_id = result.sip_code, result.call_id
        if call.ringing:
            self._stop_ringing(call)
            call.ring_s = ring_s = now - call.dialed_s
            self.pacer.observe_ring_end(False, ring_s)
        call.ended_s = now
        if call.agent is not None:  # a connected call ended: the agent wraps up
            agent = call.agent
            call.outcome = "answered"
            call.talk_s = now - self.talking.pop(agent)
            self.state[agent] = WRAP
            self.wrapping[agent] = now
            if agent not in self.break_due:
                self._wrap_to_free[agent] = now
            self.pacer.observe_talk(call.talk_s)
            if self._closing:  # no wrap-up timer will run any more: record the call now
                self._wrap_end(call, agent)
                return
            self.clock.schedule(self.model.wrap_s, self._wrap_ended, call)
            return
        if call.abandoned:
            call.outcome = "abandoned"
        elif call.live:  # the callee hung up while waiting for an agent
            if call in self.waiting:
                self.waiting.remove(call)  # its abandon timer finds it gone
            call.outcome = "answered"
        else:
            call.outcome = result.outcome if result.outcome != "answered" else "voicemail"
        # _finish, inlined
        del self.calls[call_no]
        outcomes = self.stats.outcomes
        outcomes[call.outcome] = outcomes.get(call.outcome, 0) + 1
        self.sink.attempt(call)
        if call.reserved is not None:
            self._agent_free(call.reserved, now)
        elif not self._predictive or now - self._last_pace >= self.pace_gap_s:
            self._pace(now)

    def _wrap_ended(self, call: Call) -> None:
        self._wrap_end(call, call.agent)  # type: ignore[arg-type]

    def _wrap_end(self, call: Call, agent: int) -> None:
        now = self.clock.seconds
        call.wrap_s = now - self.wrapping.pop(agent)
        self._wrap_to_free.pop(agent, None)
        self.pacer.observe_wrap(call.wrap_s)
        u = self.rng.random()
        call.disposition = self.disp_names[
            min(bisect.bisect_left(self.disp_cum, u), len(self.disp_names) - 1)
        ]
        self.stats.talk_s += call.talk_s or 0.0
        self.stats.wrap_s += call.wrap_s
        self._finish(call, now)
        self._agent_free(agent, now)

    def _finish(self, call: Call, now: float) -> None:
        del self.calls[call.no]
        outcomes = self.stats.outcomes
        outcomes[call.outcome] = outcomes.get(call.outcome, 0) + 1
        self.sink.attempt(call)

    # --- agents -------------------------------------------------------------------------------------
    def _agent_free(self, agent: int, now: float) -> None:
        due = self.break_due.pop(agent, None)
        if due is not None:
            self._go_on_break(agent, due, now)
            return
        if self.waiting:
            self._connect(self.waiting.popleft(), agent, now)  # its abandon timer finds it taken
            return
        self.state[agent] = IDLE
        self.since[agent] = now
        self.idle.append(agent)
        self._pace(now, force=True)

    def _break_start(self, args: tuple[int, float]) -> None:
        agent, length = args
        now = self.clock.seconds
        if self.state[agent] == IDLE:
            self.idle.remove(agent)
            self._go_on_break(agent, length, now)
        else:
            self.break_due[agent] = length
            self._wrap_to_free.pop(agent, None)  # it leaves wrap-up for the break, not for a call

    def _go_on_break(self, agent: int, length: float, now: float) -> None:
        end = min(now + length, self._stop_at)
        self._break_taken[agent] = self._break_taken.get(agent, 0.0) + max(end - now, 0.0)
        self.state[agent] = BREAK
        self.on_break.add(agent)
        self.clock.schedule(length, self._break_end, agent)

    def _break_end(self, agent: int) -> None:
        self.on_break.discard(agent)
        self._agent_free(agent, self.clock.seconds)
