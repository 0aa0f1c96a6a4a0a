"""Predictive pacing: how many more lines to dial right now, by the expected value of each marginal call.

A predictive dialer places more calls than there are free agents, betting that most will not be answered
by a person. The bet is lost when a person answers and no agent is free within 2 seconds: an abandoned
call, which the rules cap at 3 % of live answers per campaign and window. This pacer decides call by call:

1. **What is in flight.** Every ringing call is bucketed by the second it was dialed. From the measured
   outcomes (live-answer ring times, and when the other calls stop ringing: busy, machine, no answer) it
   knows, for a call that has rung `a` seconds already, the probability `q(a, r)` that it becomes a live
   answer within the next `r` seconds. Calls that have rung past the busy signal are more likely to be
   live answers than fresh ones; calls ringing past every measured live answer are nearly dead.
2. **Who will be free.** Idle agents, agents in wrap-up (elapsed wrap against the measured wrap times)
   and agents in talk (elapsed talk against a log-normal fitted to the measured talk times, plus the
   mean wrap) give, for each horizon, the probability that each agent is free by then.
3. **The marginal call.** If dialed now, a new call is a live answer at `r` seconds with the measured
   ring-time distribution. It is abandoned when, by `r + 2` seconds, the agents freed do not outnumber the
   live answers that came before it: from the calls ringing now, and from the calls the pacer will dial
   in the next `r` seconds that ring shorter (their number is Poisson-like: the dial rate measured over the
   run, times `2.5 / agents`, times the live answers expected by `r` from one call dialed a second; left
   out, a call's risk was measured 2.6 times too low, the more so the later it is answered, and
   counting them moved the budget towards calls answered soon: +0.3 points of occupancy at 2 to 5
   agents, none at 20 to 50, where the later calls mostly serve later agents). The counts are sums of
   independent Bernoulli (and Poisson) variables, so their difference is taken as normal (mean and
   variance add); the probability is averaged over `r` at the quantiles of the live ring time, the
   soonest point weighing `1 + t` and the last `1 - t` (`t = 0.3 x min(1, 5 / agents)`: measured, +0.1
   to +0.15 points of occupancy at 2 to 5 agents, nothing beyond noise at 10 to 50). The pacer dials
   the 1st, 2nd, ... extra call while that probability for the next one stays under the budget `beta`,
   divided by `1 + 0.5 x idle agents`, counting only the idle agents that the calls in flight are not
   expected to serve by the soonest point: measured in the benchmark model, risk taken while agents sit
   idle with no call coming for them buys little (the extra line mostly turns a few seconds of idle
   time into an abandoned call), risk taken dialing ahead of agents about to leave wrap-up buys more,
   so the budget goes there.
4. **The budget spends the window's allowance.** The cap is a budget over the whole window (30 days, or
   the day), not a rate per minute: what matters is the count, `abandoned <= cap x live answers`. The
   allowance left is `cap x live - abandoned - margin`, with a margin of `1 + 0.3 x sqrt(cap x live)`
   abandoned calls (the spread of the count grows like its square root; feedback keeps it small).
   `log(beta)` is an integral term (up a little, 0.002, on every connected live answer, down
   `0.002 x (1 - t) / t` on every abandoned one, so the rate settles at `t = cap - margin / live`) plus
   `0.2 x allowance` (at most +1): beta rises while the window has room and falls fast as it runs out.
   The margin's base grows with the team, `max(1, 0.15 x agents)`: a larger team keeps more calls at
   risk, and point 6 needs room for them (measured, +0.55 points of occupancy at 50 agents, none at 5).
   The integral term starts near where it settles in the benchmark model: `0.022 x (1 + 2.5 / agents)`
   (the later calls of point 3 make each risk larger, the more so for a small team).
5. **Falling back to sure lines.** Until 50 calls have been measured, and whenever fewer than one
   abandoned call is left under the cap (`abandoned + 1 > cap x live`), it dials only calls that cannot
   be abandoned; so only a call already in flight can take the window's measured rate over the cap, at
   any moment, not only at the end. A call is sure when an agent is certain to be free for it: a person
   answers no sooner than the shortest live ring `r` measured and may wait 2 s, and an agent in wrap-up
   is free no later than its start plus the longest wrap-up `w` measured; so an agent whose wrap-up ends
   within `r + 2` s counts like an idle one (with `r` 4 s and `w` 15 s: a call dialed 6 s before the
   wrap-up ends). Each call that may still bring a person takes one of these agents (in the order they
   come free, which is the order of the calls' earliest answers), and each agent left gets a new call:
   one line per free agent, plus one per agent about to leave wrap-up. The extremes are trusted after
   20 measurements each, with the expected gap to the next unseen extreme (range / n) as a margin. This
   is also the floor in predictive pacing: it never leaves a free (or surely free) agent without a call
   on its way: a call counts as on its way while it may still bring a person, that is until it has rung
   2 s past the longest live-answer ring ever measured (calls are bucketed by dial second, so the 2 s
   cover the bucketing); a no-answer that rings on to the timeout after that no longer keeps a free
   agent waiting. It never asks for more lines than the trunk's channels allow (`max_channels`:
   ringing, waiting and talking calls each hold one). There is no fixed team-size switch: for a small
   team the risk of every extra line is high, so the same rule dials little more than one line per
   agent by itself, and more only when the agents about to be free make it safe.
6. **The cap is a hard limit, at every instant.** The budget keeps the rate under the cap on average;
   luck could still have several calls in flight abandoned together. So a call is *at risk* when it may
   still bring a person (or is a person waiting) and the sure agents of point 5 (idle, or surely out of
   wrap-up by the time a call dialed now could need them) cannot all serve it: `k = calls that may bring
   a person + persons waiting - sure agents`. Each abandoned call adds one abandoned call and one live
   answer, so even if all `k` were abandoned the window stays within the cap while
   `abandoned + k <= cap x (live + k)`, that is `k <= room = (cap x live - abandoned) / (1 - cap)`,
   rounded down (`room()`). The pacer dials no line past that: at most `room - k` lines beyond the sure
   ones, which never add to `k`. It holds for the whole run, not only at the decision: the worst case
   (every call in flight a person at its earliest answer, served in order as the sure agents come free)
   only improves as time passes, calls end and agents come free; an abandoned call takes one off both
   the worst case and the room; only the pacer's own lines add to it, and a line dialed now is answered
   after every call already in flight could be. It rests on the same measured extremes as the sure lines,
   and on no break or new `day` window starting under calls already dialed. Its cost: from an empty
   window the room grows by 0.03 per live answer while 50 agents keep about 10 calls at risk (17 at the
   90th percentile), so the first hour of an empty window is about 3 points less busy at 50 agents (half
   a point over an 8-hour shift); with a window that has room from earlier runs, under 0.1 point; at 5
   agents, nothing measurable (they keep 0 or 1 call at risk). The fallback of point 5 (fewer than one
   abandoned call left) is about `room < 1`, where this rule too allows sure lines only.

**Cost.** The engine asks about twice a simulated second (about 48,000 times in an 8-hour shift of 50
agents), so `lines()` is written for speed with the same arithmetic as the plain formula (a test compares
the two): the four quantile points are unrolled into scalars, the per-age ringing rows and the per-half-
second wrap rows are tables, the budget is worked out once per live answer, and the sum over agents in
talk (the only part that grows with the team) is taken only when the risk at the last point is needed.
The engine asks for the extra calls a few at a time (`lines(..., most=8)`, then `more(32)` from where the
weighing stopped, up to the hard limit of point 6, as it dials them): a large idle team with no lead left
would otherwise weigh thousands of calls (up to `max_lines`) at every decision, 54 s of a run of 1,000
agents with 2,500 contacts (the same answer in all: a test compares the two).
Two shortcuts trade exactness for time (measured: the same occupancy and abandonment): the tables are
rebuilt every minute at first and less often as the measurements settle (every `calls / 1000` minutes,
at most 30), and the sum over agents in talk is taken afresh every 4 s and in between moved by the one
talk that began or ended (its start is the difference of the sums; a talk lasts minutes, the others'
hazards barely move in 4 s).

The pacer is pure: no clock, no I/O; the engine passes the state in and reports outcomes back.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from itertools import accumulate

_BINS = 64  # one-second bins of ring time (calls ring at most ~60 s)
_WRAP_BINS = 601
_WRAP_HALVES = 2 * _WRAP_BINS  # wrap ages by half seconds
_SQRT2 = math.sqrt(2.0)
_POINTS = 4  # quantile points of the live ring time; lines() is unrolled for four
_erfc, _sqrt = math.erfc, math.sqrt
_TALK_REUSE_S = 4  # the sum over agents in talk is taken afresh at least this often (seconds)
_TALK_TOP = 3600  # talk hazard table: seconds 0 to this; longer talks count as this long
_SURE_EPS = 0.05  # seconds kept between a sure agent's latest free time and a call's deadline


class Pacer:
    """Adaptive expected-value pacer. Feed it outcomes with `observe_*`; ask `lines()` what to dial."""

    def __init__(
        self,
        agents: int,
        cap: float = 0.03,
        *,
        prior_live: int = 0,
        prior_abandoned: int = 0,
        refresh_s: float = 60.0,
        max_lines_per_agent: float = 6.0,
        max_channels: int | None = None,
    ):
        self.agents = agents
        self.cap = cap
        self.live = prior_live  # live answers in the window
        self.abandoned = prior_abandoned
        self.window_from_s = -math.inf  # calls dialed before this count in an earlier window, not this one
        # the highest `abandoned - cap x live` reached at any instant since (the hard limit keeps it <= 0)
        self.worst_excess = -math.inf
        # the budget: log(beta) = integral term + kp x (allowance left in the window), see beta()
        # the integral term, from about where this model settles (higher for small teams: see _refresh_later)
        self.later_k = 2.5
        self.log_beta = math.log(0.022 * (1.0 + self.later_k / max(agents, 1)))
        self.gain = 0.002  # integral step per connected live answer
        self.kp = 0.2  # proportional gain per abandoned call of allowance
        self.boost_max = 1.0  # at most e times the integral term however much allowance is left
        # abandoned calls kept in reserve: margin_base + 0.3 x sqrt(cap x live answers); margin_base grows
        # with the team, which keeps more calls at risk and so needs more room under the hard rule (lines())
        self.margin_base = max(1.0, 0.15 * agents)
        self.margin_k = 0.3
        self.hard_room = 1.0  # progressive only while fewer abandoned calls than this are left under the cap
        self.idle_cut = 0.5  # the budget is divided by 1 + idle_cut x idle agents no call is expected for
        # the risk at the first (soonest) ring-time point weighs 1 + tilt, at the last 1 - tilt (see lines())
        self.tilt = 0.3 * min(1.0, 5.0 / max(agents, 1))
        self.target_rate = max(cap - self.margin() / max(prior_live, 1), cap * 0.5)
        self.refresh_s = refresh_s
        self.quantiles = _POINTS
        self._beta_key: tuple[float, int, int, float] = (math.nan, -1, -1, math.nan)
        self._beta = 0.0
        self._wrap_rows: list[tuple[float, ...] | None] = [None] * _WRAP_HALVES
        self.max_lines = max(1, int(agents * max_lines_per_agent))
        self.max_channels = max_channels  # the trunk's concurrent calls: ringing, waiting and talking
        # Measured distributions (with a weak prior so the first minutes are not blind).
        self.live_ring = [0.0] * _BINS  # count of live answers by ring second
        self.other_end = [0.0] * _BINS  # count of other calls by the second they stopped ringing
        for s in range(3, 16):
            self.live_ring[s] += 0.25 * 40 / 13
            self.other_end[s] += 0.35 * 40 / 13
        self.other_end[_BINS - 1] += 0.4 * 40
        self.live_top = 15  # the longest ring bin with a live answer
        self.measured_calls = 0
        # exact extremes of the measured live ring and wrap-up times (no prior): the sure lines, see _soon()
        self.live_n, self.live_min, self.live_max = 0, math.inf, 0.0
        self.wrap_n, self.wrap_min, self.wrap_max = 0, math.inf, 0.0
        self.sure_after = 20  # measurements before an extreme is trusted
        self._resume: tuple | None = None  # where lines() stopped weighing at `most`: see more()
        self._soon_key: tuple[int, int] = (-1, -1)
        self._soon_lead = -math.inf
        # calls dialed later that answer first: see _refresh_later()
        self._first_s: float | None = None
        self.later: tuple[float, ...] = (0.0,) * _POINTS
        self.later_unit: tuple[float, ...] = (0.0,) * _POINTS
        self.wrap_hist = [0.0] * _WRAP_BINS
        self.wrap_hist[15] = 3.0
        self.wrap_top = 15  # the longest wrap-up bin with a count
        self.talk_n = 3.0
        self.talk_log_sum = 3 * (math.log(180.0) - 0.18)
        self.talk_log_sq = 3 * ((math.log(180.0) - 0.18) ** 2 + 0.36)
        self._next_refresh = -1.0
        self._talk_key: tuple[int, int, float] = (-1, -1, 0.0)
        self._talk_add: tuple[float, ...] = ()
        self._talk_base: tuple[int, int, float, float] = (-(10**9), -1, 0.0, 0.0)
        self.talk_mu, self.talk_sd = 0.0, 1.0
        self._refresh()

    # --- measurements -------------------------------------------------------------------------------
    def observe_ring_end(self, live: bool, ring_s: float) -> None:
        """A call stopped ringing: a live answer (person) after `ring_s`, or anything else."""
        b = min(int(ring_s), _BINS - 1)
        if live:
            self.live_ring[b] += 1.0
            if b > self.live_top:
                self.live_top = b
            self.live_n += 1
            if ring_s < self.live_min:
                self.live_min = ring_s
            if ring_s > self.live_max:
                self.live_max = ring_s
        else:
            self.other_end[b] += 1.0
        self.measured_calls += 1

    def observe_live(self, abandoned: bool, dialed_s: float = math.inf) -> None:
        """A live answer was connected to an agent, or abandoned; moves the budget. A call dialed before
        the window began (`reset_window`) counts in the window it was dialed in: not in this one."""
        if dialed_s < self.window_from_s:
            return
        self.live += 1
        self.target_rate = max(self.cap - self.margin() / self.live, self.cap * 0.5)
        if abandoned:
            self.abandoned += 1
            self.log_beta -= self.gain * (1.0 - self.target_rate) / self.target_rate
            # the window is at its worst right after an abandoned call
            self.worst_excess = max(self.worst_excess, self.abandoned - self.cap * self.live)
        else:
            self.log_beta += self.gain
        self.log_beta = min(max(self.log_beta, math.log(1e-3)), math.log(0.2))

    def margin(self) -> float:
        """Abandoned calls kept in reserve below the cap: a few, growing like the spread of the count."""
        return self.margin_base + self.margin_k * math.sqrt(self.cap * self.live)

    def allowance(self) -> float:
        """Abandoned calls the window can still take before it reaches the cap less the margin."""
        return self.cap * self.live - self.abandoned - self.margin()

    def room(self) -> int:
        """Abandoned calls the window can still take with the rate at most the cap, counting that each adds
        a live answer: the largest `k` with `abandoned + k <= cap x (live + k)` (none at or over the cap)."""
        room = (self.cap * self.live - self.abandoned) / (1.0 - self.cap) - 1e-9
        return int(room) if room > 0.0 else 0

    def observe_talk(self, talk_s: float) -> None:
        x = math.log(max(talk_s, 1.0))
        self.talk_n += 1
        self.talk_log_sum += x
        self.talk_log_sq += x * x

    def observe_wrap(self, wrap_s: float) -> None:
        b = min(int(wrap_s), _WRAP_BINS - 1)
        self.wrap_hist[b] += 1.0
        if b > self.wrap_top:
            self.wrap_top = b
        self.wrap_n += 1
        if wrap_s < self.wrap_min:
            self.wrap_min = wrap_s
        if wrap_s > self.wrap_max:
            self.wrap_max = wrap_s

    def reset_window(self, live: int = 0, abandoned: int = 0, from_s: float = -math.inf) -> None:
        """A new abandonment window, holding `live` and `abandoned` already, for the calls dialed from
        `from_s` on (a new UTC day: the calls still in flight were dialed the day before)."""
        self.live, self.abandoned, self.window_from_s = live, abandoned, from_s

    # --- derived tables -----------------------------------------------------------------------------
    def _refresh(self) -> None:
        live, other = self.live_ring, self.other_end
        total_live = sum(live, 0.0)
        total = total_live + sum(other, 0.0)
        self.p_live = total_live / total
        # cumulative counts: live answered by second x, other stopped by second x
        cl = [0.0, *accumulate(live)]
        co = [0.0, *accumulate(other)]
        # quantile points of the live ring time (seconds, bin centres)
        points: list[float] = []
        k, n_points = 0, self.quantiles
        for b in range(_BINS):
            acc = cl[b + 1]
            while k < n_points and acc >= total_live * (k + 0.5) / n_points:
                points.append(b + 0.5)
                k += 1
            if k == n_points:
                break
        self.r_points = points
        # q(a) at the points: P(live answer within r_k more seconds | still ringing at age a); per age,
        # flat tuples (q, then q (1 - q) for one call in a second; q, then 1 - q for several). Past the
        # last second a live answer was measured at, every q is 0.
        offsets = [int(r + 0.5) for r in points]
        padded = cl + [cl[_BINS]] * (max(offsets) + 1)
        last_live = self.live_top
        zero = (0.0,) * len(points)
        zero_row = zero + zero
        zero_many = zero + (1.0,) * len(points)
        rows: list[tuple[float, ...]] = []  # for one call: q, then q (1 - q)
        many: list[tuple[float, ...]] = []  # for several: q, then 1 - q
        other_total = total - total_live
        dead = 0  # rows from this age on are all zero
        for a in range(min(last_live + 1, _BINS - 1)):
            alive = (total_live - cl[a]) + (other_total - co[a])
            if alive <= 1e-9:
                rows.append(zero_row)
                many.append(zero_many)
                continue
            base = cl[a]
            row = tuple([(padded[a + o] - base) / alive for o in offsets])
            if any(row):
                dead = a + 1
            rows.append(row + tuple([p * (1.0 - p) for p in row]))
            many.append(row + tuple([1.0 - p for p in row]))
        self.q_rows = rows + [zero_row] * (_BINS - len(rows))
        self.q_rows_many = many + [zero_many] * (_BINS - len(many))
        self.q_dead = dead
        # g[k]: P(a call dialed now is a live answer within r_k)
        self.g = tuple([padded[o] / total for o in offsets])
        # live answers expected by each point from calls dialed one a second from now on
        self.later_unit = tuple([sum([padded[o - j] for j in range(o + 1)], 0.0) / total for o in offsets])
        self.g_var = tuple([g * (1.0 - g) for g in self.g])
        # wrap: probability that a wrap of age w ends within h (h per quantile point + 2 s)
        wraps = self.wrap_hist
        top = self.wrap_top + 1  # past it every bin is empty: the sums stay as they are
        wtotal = sum(wraps[:top], 0.0)
        cw = [0.0, *accumulate(wraps[:top])]
        self.wrap_cum, self.wrap_total = cw + [cw[-1]] * (_WRAP_BINS - top), wtotal
        self.wrap_mean = sum([b * wraps[b] for b in range(top)], 0.0) / wtotal
        self._wrap_rows = [None] * _WRAP_HALVES
        # points far enough out that agents now in talk may be free by then (talk ends, then a wrap-up)
        wm = self.wrap_mean
        self.late_h = tuple([r + 2.0 - wm if r + 2.0 > wm else 0.0 for r in points])
        self.talk_from = next((k for k, r in enumerate(points) if r + 2.0 > wm), _POINTS)
        self._talk_key = (-1, -1, 0.0)
        self._talk_base = (-(10**9), -1, 0.0, 0.0)
        mu = self.talk_log_sum / self.talk_n
        var = max(self.talk_log_sq / self.talk_n - mu * mu, 1e-6)
        if abs(mu - getattr(self, "talk_mu", 0.0)) > 0.02 or abs(math.sqrt(var) - self.talk_sd) > 0.02:
            self.talk_mu, self.talk_sd = mu, math.sqrt(var)
            self._hazard: list[float] = []  # built on demand by _talk_rate()
            self._hazard_surv = 1.0

    def _extend_hazard(self, upto: int) -> None:
        """Hazard of the talk ending in its second `age` (given it lasted that long), for ages up to `upto`."""
        mu, sd = self.talk_mu, self.talk_sd
        table = self._hazard
        prev = self._hazard_surv
        for age in range(len(table), min(upto, _TALK_TOP) + 1):
            surv = 0.5 * math.erfc(((math.log(age + 1.0) - mu) / sd) / _SQRT2)
            table.append((prev - surv) / prev if prev > 1e-12 else 1.0)
            prev = surv
        self._hazard_surv = prev

    def _talk_adds(self, now: float, talk_starts: Collection[float]) -> tuple[float, ...]:
        """What agents now in talk add to the mean (and, Poisson, the variance) at each point."""
        sec, n, total = int(now), len(talk_starts), sum(talk_starts, 0.0)
        key = (sec, n, total)  # the same agents in the same second
        if key == self._talk_key:
            return self._talk_add
        base_sec, base_n, base_total, rate = self._talk_base
        full = sec - base_sec > _TALK_REUSE_S or abs(n - base_n) > 1 or (n == base_n and total != base_total)
        if not full and n != base_n:
            # one talk began or ended since: its start is the difference of the sums (if it makes sense:
            # a talk that began since, or any talk that ended); the others' hazards move little in a few
            # seconds, a talk lasts minutes
            start = total - base_total if n > base_n else base_total - total
            age = now - start
            if 0.0 <= age <= (2 * _TALK_REUSE_S + 2 if n > base_n else _TALK_TOP):
                term = self._talk_rate(now, (start,))
                rate = max(rate + term if n > base_n else rate - term, 0.0)
            else:
                full = True
        if full:
            rate = self._talk_rate(now, talk_starts)
            base_sec = sec
        self._talk_base = (base_sec, n, total, rate)
        self._talk_key = key
        self._talk_add = tuple([rate * h for h in self.late_h])
        return self._talk_add

    def _talk_rate(self, now: float, talk_starts: Collection[float]) -> float:
        """Expected talks ending per second now: the sum of each talking agent's hazard at its age."""
        hz = self._hazard
        try:
            return sum([hz[int(now - start)] for start in talk_starts], 0.0)
        except IndexError:
            self._extend_hazard(max(int(now - start) for start in talk_starts) + 60)
            hz = self._hazard
            top = len(hz) - 1
            rate = 0.0
            for start in talk_starts:
                a = int(now - start)
                rate += hz[a if a < top else top]
            return rate

    # --- the decision -------------------------------------------------------------------------------
    def _refresh_later(self, now: float) -> None:
        """The live answers that calls dialed after a new one bring before it, expected by each point.

        A new call is answered after `r` seconds; meanwhile the pacer goes on dialing, and those later calls
        that ring shorter may be answered first and take the agent it needed. Their number is Poisson-like:
        the dial rate measured over the run (ring ends per second since the first decision, at least over a
        minute) times `later_k / agents` times the live answers expected by `r` from one call a second.
        Worked out at each refresh of the tables.
        """
        if self._first_s is None:
            self._first_s = now
        rate = self.later_k / max(self.agents, 1) * self.measured_calls / max(now - self._first_s, 60.0)
        self.later = tuple([rate * u for u in self.later_unit])

    def _soon(self) -> float:
        """How long before now an agent must have begun wrap-up to be surely free for a call dialed now.

        A call dialed now is a live answer no sooner than the shortest live ring `r`, and may wait 2 s for
        an agent; an agent in wrap-up is free no later than its start plus the longest wrap-up `w`. So an
        agent whose wrap-up began `w - r - 2` seconds ago or earlier is surely free in time. The extremes
        are measured, with the expected gap to the next unseen extreme (range / n) as a margin; until
        `sure_after` of each are measured, `r` is 0 and no agent in wrap-up counts.
        """
        key = (self.live_n, self.wrap_n)
        if key != self._soon_key:
            self._soon_key = key
            if self.wrap_n < self.sure_after:
                self._soon_lead = -math.inf
            else:
                r = 0.0
                if self.live_n >= self.sure_after:
                    r = max(self.live_min - (self.live_max - self.live_min) / self.live_n, 0.0)
                w = self.wrap_max + (self.wrap_max - self.wrap_min) / self.wrap_n
                self._soon_lead = r + 2.0 - w - _SURE_EPS
        return self._soon_lead

    def beta(self) -> float:
        # it moves on live answers only: worked out once for the many decisions in between
        key = (self.log_beta, self.live, self.abandoned, self.cap)
        if key != self._beta_key:
            boost = max(min(self.kp * self.allowance(), self.boost_max), -4.0)
            self._beta_key, self._beta = key, min(math.exp(self.log_beta + boost), 0.5)
        return self._beta

    def lines(
        self,
        now: float,
        ringing: Mapping[int, int],
        waiting: int,
        free: int,
        wrap_starts: Iterable[float],
        talk_starts: Collection[float],
        most: int | None = None,
    ) -> int:
        """How many new calls to dial at `now` (seconds).

        `ringing`: dial second -> calls still ringing; `waiting`: live answers waiting for an agent;
        `free`: idle agents; `wrap_starts` / `talk_starts`: when each busy agent began wrap / talk.
        `most`: weigh at most this many extra calls for now; when the answer is `most` or more, `more()`
        weighs the next ones, and the calls of both add up to the answer without `most` (the engine
        dials as it goes and stops when it has no lead left, so a large team with no contacts left does
        not weigh thousands of calls a second).
        """
        self._resume = None
        if now >= self._next_refresh:
            self._refresh()
            # the tables settle as calls are measured: refresh less often as they do (at most every 30 min)
            self._next_refresh = now + self.refresh_s * min(max(1.0, self.measured_calls / 1000), 30.0)
            self._refresh_later(now)
        in_flight = sum(ringing.values())
        channels = self.max_lines - in_flight
        if self.max_channels is not None:  # every ringing, waiting and talking call holds a channel
            channels = min(channels, self.max_channels - in_flight - waiting - len(talk_starts))
        # progressive floor: never leave an agent unserved (as far as the channels go). A call that has
        # rung 2 s past the longest live ring ever measured will not bring a person: it covers no one.
        uncovered = free - waiting - in_flight
        gone_age = self.live_top + 2
        # agents in wrap-up that are surely free in time for a call dialed now count like idle ones
        sure_start = now + self._soon()
        if self.measured_calls < 50 or self.abandoned + self.hard_room > self.cap * self.live:
            uncovered += sum([1 for start in wrap_starts if start <= sure_start])
            if uncovered > -in_flight and in_flight:
                past = int(now) - gone_age
                uncovered += sum([count for second, count in ringing.items() if second <= past])
            return max(min(uncovered, channels), 0)
        if channels <= 0:
            return 0
        # The expected free agents minus earlier live answers (m0..m3) and its variance (v0..v3) at the four
        # ring-time quantile points, unrolled: this runs tens of thousands of times a simulated shift.
        # the calls still to be dialed before this one is answered: live answers expected by each point
        f0, f1, f2, f3 = self.later
        base = float(free - waiting)
        m0, m1, m2, m3 = base - f0, base - f1, base - f2, base - f3
        v0, v1, v2, v3 = f0, f1, f2, f3
        now_sec = int(now)
        dead = self.q_dead  # from this age on, no live answer was ever measured: nothing to add
        rows, rows_many = self.q_rows, self.q_rows_many
        for second, count in ringing.items():
            age = now_sec - second
            if age >= dead:
                if age >= gone_age:
                    uncovered += count
                continue
            if count == 1:
                p0, p1, p2, p3, w0, w1, w2, w3 = rows[age]
                m0 -= p0
                m1 -= p1
                m2 -= p2
                m3 -= p3
                v0 += w0
                v1 += w1
                v2 += w2
                v3 += w3
            else:
                p0, p1, p2, p3, o0, o1, o2, o3 = rows_many[age]
                m0 -= count * p0
                m1 -= count * p1
                m2 -= count * p2
                m3 -= count * p3
                v0 += count * p0 * o0
                v1 += count * p1 * o1
                v2 += count * p2 * o2
                v3 += count * p3 * o3
        wrap_rows = self._wrap_rows
        for start in wrap_starts:
            if start <= sure_start:
                uncovered += 1
            # by half seconds: the horizons end at whole seconds + 0.5
            half = int(2.0 * (now - start))
            try:
                row = wrap_rows[half]
            except IndexError:
                row = None
            if row is None:
                row = self._wrap_row(half)
            p0, p1, p2, p3, w0, w1, w2, w3 = row
            m0 += p0
            m1 += p1
            m2 += p2
            m3 += p3
            v0 += w0
            v1 += w1
            v2 += w2
            v3 += w3
        # agents in talk count only at the points past the mean wrap-up (a suffix of the points, from
        # `talk_from`): their sum is worked out only if the risk is needed there
        talk_from = self.talk_from
        if talk_from == 0:
            a0, a1, a2, a3 = self._talk_adds(now, talk_starts)
            m0, m1, m2, m3 = m0 + a0, m1 + a1, m2 + a2, m3 + a3
            v0, v1, v2, v3 = v0 + a0, v1 + a1, v2 + a2, v3 + a3
            talk_from = _POINTS
        # an extra line while agents sit idle mostly buys an abandoned call for seconds of idle time:
        # measured, the budget is better spent dialing ahead of agents about to leave wrap-up. Idle agents
        # the calls in flight are expected to serve by the first point (m0: agents free by then less the
        # live answers expected) are not idle for want of a call: they do not count.
        idle = float(free - waiting)
        if m0 < idle:
            idle = m0
        beta = self._beta  # beta(), whose key is checked here (a call less per decision)
        if self._beta_key != (self.log_beta, self.live, self.abandoned, self.cap):
            beta = self.beta()
        budget = beta / (1.0 + self.idle_cut * (idle if idle > 0.0 else 0.0))
        g0, g1, g2, g3 = self.g
        h0, h1, h2, h3 = self.g_var
        # the risk is the weighted mean over the points of P(not enough agents) = erfc(...) / 2, against
        # the budget: summed as erfc, the limit is 4 points x 2 x budget (exact: powers of two). The
        # soonest point weighs 1 + tilt, the last 1 - tilt (measured: see docs/benchmarks.md)
        limit = 8.0 * budget
        w0, w3 = 1.0 + self.tilt, 1.0 - self.tilt
        if uncovered > channels:
            uncovered = channels
        n = 0
        stop = channels if most is None or most >= channels else (most if most > 0 else 1)
        while n < stop:
            # the risk of the next call is the mean over the four points: stop as soon as the partial
            # sum is over the budget (the terms are never negative)
            risk = (
                w0 * _erfc((m0 - 0.5) / _sqrt(v0) / _SQRT2) if v0 > 1e-12 else (2.0 * w0 if m0 < 0.5 else 0.0)
            )
            if risk > limit:
                break
            if talk_from == 1:
                a0, a1, a2, a3 = self._talk_adds(now, talk_starts)
                m0, m1, m2, m3 = m0 + a0, m1 + a1, m2 + a2, m3 + a3
                v0, v1, v2, v3 = v0 + a0, v1 + a1, v2 + a2, v3 + a3
                talk_from = _POINTS
            risk += _erfc((m1 - 0.5) / _sqrt(v1) / _SQRT2) if v1 > 1e-12 else (2.0 if m1 < 0.5 else 0.0)
            if risk > limit:
                break
            if talk_from == 2:
                a0, a1, a2, a3 = self._talk_adds(now, talk_starts)
                m0, m1, m2, m3 = m0 + a0, m1 + a1, m2 + a2, m3 + a3
                v0, v1, v2, v3 = v0 + a0, v1 + a1, v2 + a2, v3 + a3
                talk_from = _POINTS
            risk += _erfc((m2 - 0.5) / _sqrt(v2) / _SQRT2) if v2 > 1e-12 else (2.0 if m2 < 0.5 else 0.0)
            if risk > limit:
                break
            if talk_from == 3:
                a0, a1, a2, a3 = self._talk_adds(now, talk_starts)
                m0, m1, m2, m3 = m0 + a0, m1 + a1, m2 + a2, m3 + a3
                v0, v1, v2, v3 = v0 + a0, v1 + a1, v2 + a2, v3 + a3
                talk_from = _POINTS
            risk += (
                w3 * _erfc((m3 - 0.5) / _sqrt(v3) / _SQRT2) if v3 > 1e-12 else (2.0 * w3 if m3 < 0.5 else 0.0)
            )
            if risk > limit:
                break
            n += 1  # the next call: one more live answer may come before it
            m0, m1, m2, m3 = m0 - g0, m1 - g1, m2 - g2, m3 - g3
            v0, v1, v2, v3 = v0 + h0, v1 + h1, v2 + h2, v3 + h3
        else:
            if n < channels:  # cut at `most`, not by the risk: more() may go on from this very state
                # as far as the hard rule below lets the answer go (uncovered + room()): no weighing past it
                hard = uncovered + self.room()
                top = hard if hard < channels else channels
                if n < top:
                    given = n if n > uncovered else uncovered
                    self._resume = (n, top, uncovered, given, limit, w0, w3, m0, m1, m2, m3, v0, v1, v2, v3)
                    return given
        if n > uncovered:
            # the hard rule: the calls that may still be abandoned (past the sure ones) are never more than
            # the abandoned calls left under the cap, each of which also adds a live answer: see room()
            hard = uncovered + self.room()
            if n > hard:
                n = hard if hard > 0 else 0
        return n if n > uncovered else uncovered

    def more(self, most: int) -> int:
        """After `lines(..., most=k)` answered k or more: how many calls to dial beyond those (at most
        `most` more, at least one if there are any), from the state where its weighing stopped, with the
        same arithmetic; 0 when the answer was complete. Only valid before the next `lines()`."""
        state = self._resume
        if state is None:
            return 0
        self._resume = None
        # `top`: the channels, or the hard rule's bound if lower (see lines())
        n, top, floor, given, limit, w0, w3, m0, m1, m2, m3, v0, v1, v2, v3 = state
        g0, g1, g2, g3 = self.g
        h0, h1, h2, h3 = self.g_var
        stop = min(top, given + max(most, 1))
        # as in lines(), once the agents in talk are counted (the first call weighed counted them)
        while n < stop:
            risk = (
                w0 * _erfc((m0 - 0.5) / _sqrt(v0) / _SQRT2) if v0 > 1e-12 else (2.0 * w0 if m0 < 0.5 else 0.0)
            )
            if risk > limit:
                break
            risk += _erfc((m1 - 0.5) / _sqrt(v1) / _SQRT2) if v1 > 1e-12 else (2.0 if m1 < 0.5 else 0.0)
            if risk > limit:
                break
            risk += _erfc((m2 - 0.5) / _sqrt(v2) / _SQRT2) if v2 > 1e-12 else (2.0 if m2 < 0.5 else 0.0)
            if risk > limit:
                break
            risk += (
                w3 * _erfc((m3 - 0.5) / _sqrt(v3) / _SQRT2) if v3 > 1e-12 else (2.0 * w3 if m3 < 0.5 else 0.0)
            )
            if risk > limit:
                break
            n += 1
            m0, m1, m2, m3 = m0 - g0, m1 - g1, m2 - g2, m3 - g3
            v0, v1, v2, v3 = v0 + h0, v1 + h1, v2 + h2, v3 + h3
        else:
            if n < top:
                total = n if n > floor else floor
                self._resume = (n, top, floor, total, limit, w0, w3, m0, m1, m2, m3, v0, v1, v2, v3)
                return total - given
        total = n if n > floor else floor
        return total - given

    def _wrap_row(self, half: int) -> tuple[float, ...]:
        """P(an agent `half` / 2 seconds into wrap is free by each horizon), then p (1 - p)."""
        a, extra = divmod(half, 2)
        cw, wtotal = self.wrap_cum, self.wrap_total
        lo = a if a < _WRAP_BINS else _WRAP_BINS
        left = wtotal - cw[lo]
        ps = []
        for r in self.r_points:
            if left <= 1e-9:
                ps.append(1.0)
            else:
                e = a + extra + int(r + 1.5)  # int(elapsed + r + 2) with r a bin centre (x.5)
                ps.append((cw[e if e < _WRAP_BINS else _WRAP_BINS] - cw[lo]) / left)
        row = tuple(ps) + tuple([p * (1.0 - p) for p in ps])
        if half < _WRAP_HALVES:
            self._wrap_rows[half] = row
        return row


class FixedRatioPacer:
    """Lines in flight = ratio x (idle agents) minus calls already ringing: the classic fixed dial ratio."""

    def __init__(self, ratio: float):
        self.ratio = ratio

    def lines(self, now, ringing, waiting, free, wrap_starts, talk_starts) -> int:  # noqa: ARG002
        in_flight = sum(ringing.values())
        return max(int(self.ratio * max(free - waiting, 0) + 0.5) - in_flight, 0)

    def observe_ring_end(self, live: bool, ring_s: float) -> None:
        pass

    def observe_live(self, abandoned: bool, dialed_s: float = math.inf) -> None:
        pass

    def observe_talk(self, talk_s: float) -> None:
        pass

    def observe_wrap(self, wrap_s: float) -> None:
        pass

    def reset_window(self, live: int = 0, abandoned: int = 0, from_s: float = -math.inf) -> None:
        pass
