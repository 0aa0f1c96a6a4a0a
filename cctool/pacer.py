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
   live answers that came before it. Both counts are sums of independent Bernoulli variables, so their
   difference is taken as normal (mean and variance add); the probability is averaged over `r` at the
   quantiles of the live ring time. The pacer dials the 1st, 2nd, ... extra call while that probability
   for the next one stays under the budget `beta`, divided by `1 + 0.5 x idle agents`: measured in the
   benchmark model, risk taken while agents sit idle buys little (the extra line mostly turns a few
   seconds of idle time into an abandoned call), risk taken dialing ahead of agents about to leave
   wrap-up buys more, so the budget goes there.
4. **The budget spends the window's allowance.** The cap is a budget over the whole window (30 days, or
   the day), not a rate per minute: what matters is the count, `abandoned <= cap x live answers`. The
   allowance left is `cap x live - abandoned - margin`, with a margin of `1 + 0.3 x sqrt(cap x live)`
   abandoned calls (the spread of the count grows like its square root; feedback keeps it small).
   `log(beta)` is an integral term (up a little, 0.002, on every connected live answer, down
   `0.002 x (1 - t) / t` on every abandoned one, so the rate settles at `t = cap - margin / live`) plus
   `0.2 x allowance` (at most +1): beta rises while the window has room and falls fast as it runs out.
5. **Falling back.** Until 50 calls have been measured, and whenever fewer than one abandoned call is
   left under the cap (`abandoned + 1 > cap x live`), it dials one line per free agent only
   (progressive), which cannot abandon; so only a call already in flight can take the window's
   measured rate over the cap, at any moment, not only at the end. It never leaves a free agent without a call on its way, and never asks
   for more lines than the trunk's channels allow (`max_channels`: ringing, waiting and talking calls
   each hold one). There is no fixed team-size switch: for a small team the risk of every extra line
   is high, so the same rule dials little more than one line per agent by itself, and more only when
   the agents about to be free make it safe.

The pacer is pure: no clock, no I/O; the engine passes the state in and reports outcomes back.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping

_BINS = 64  # one-second bins of ring time (calls ring at most ~60 s)
_WRAP_BINS = 601
_SQRT2 = math.sqrt(2.0)


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / _SQRT2)


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
        quantiles: int = 4,
        max_lines_per_agent: float = 6.0,
        max_channels: int | None = None,
    ):
        self.agents = agents
        self.cap = cap
        self.live = prior_live  # live answers in the window
        self.abandoned = prior_abandoned
        # the budget: log(beta) = integral term + kp x (allowance left in the window), see beta()
        self.log_beta = math.log(0.022)  # the integral term, from about where this model settles
        self.gain = 0.002  # integral step per connected live answer
        self.kp = 0.2  # proportional gain per abandoned call of allowance
        self.boost_max = 1.0  # at most e times the integral term however much allowance is left
        self.margin_base = 1.0  # abandoned calls kept in reserve: 1 + 0.3 x sqrt(cap x live answers)
        self.margin_k = 0.3
        self.hard_room = 1.0  # progressive only while fewer abandoned calls than this are left under the cap
        self.idle_cut = 0.5  # the budget is divided by 1 + idle_cut x idle agents
        self.target_rate = max(cap - self.margin() / max(prior_live, 1), cap * 0.5)
        self.refresh_s = refresh_s
        self.quantiles = quantiles
        self.max_lines = max(1, int(agents * max_lines_per_agent))
        self.max_channels = max_channels  # the trunk's concurrent calls: ringing, waiting and talking
        # Measured distributions (with a weak prior so the first minutes are not blind).
        self.live_ring = [0.0] * _BINS  # count of live answers by ring second
        self.other_end = [0.0] * _BINS  # count of other calls by the second they stopped ringing
        for s in range(3, 16):
            self.live_ring[s] += 0.25 * 40 / 13
            self.other_end[s] += 0.35 * 40 / 13
        self.other_end[_BINS - 1] += 0.4 * 40
        self.measured_calls = 0
        self.wrap_hist = [0.0] * _WRAP_BINS
        self.wrap_hist[15] = 3.0
        self.talk_n = 3.0
        self.talk_log_sum = 3 * (math.log(180.0) - 0.18)
        self.talk_log_sq = 3 * ((math.log(180.0) - 0.18) ** 2 + 0.36)
        self._next_refresh = -1.0
        self._talk_key: tuple[int, float] = (-1, 0.0)
        self._talk_rate = 0.0
        self.talk_mu, self.talk_sd = 0.0, 1.0
        self._refresh()

    # --- measurements -------------------------------------------------------------------------------
    def observe_ring_end(self, live: bool, ring_s: float) -> None:
        """A call stopped ringing: a live answer (person) after `ring_s`, or anything else."""
        b = min(int(ring_s), _BINS - 1)
        if live:
            self.live_ring[b] += 1.0
        else:
            self.other_end[b] += 1.0
        self.measured_calls += 1

    def observe_live(self, abandoned: bool) -> None:
        """A live answer was connected to an agent, or abandoned; moves the budget."""
        self.live += 1
        self.target_rate = max(self.cap - self.margin() / self.live, self.cap * 0.5)
        if abandoned:
            self.abandoned += 1
            self.log_beta -= self.gain * (1.0 - self.target_rate) / self.target_rate
        else:
            self.log_beta += self.gain
        self.log_beta = min(max(self.log_beta, math.log(1e-3)), math.log(0.2))

    def margin(self) -> float:
        """Abandoned calls kept in reserve below the cap: a few, growing like the spread of the count."""
        return self.margin_base + self.margin_k * math.sqrt(self.cap * self.live)

    def allowance(self) -> float:
        """Abandoned calls the window can still take before it reaches the cap less the margin."""
        return self.cap * self.live - self.abandoned - self.margin()

    def observe_talk(self, talk_s: float) -> None:
        x = math.log(max(talk_s, 1.0))
        self.talk_n += 1
        self.talk_log_sum += x
        self.talk_log_sq += x * x

    def observe_wrap(self, wrap_s: float) -> None:
        self.wrap_hist[min(int(wrap_s), _WRAP_BINS - 1)] += 1.0

    def reset_window(self, live: int = 0, abandoned: int = 0) -> None:
        """A new abandonment window (a new day under a `day` policy)."""
        self.live, self.abandoned = live, abandoned

    # --- derived tables -----------------------------------------------------------------------------
    def _refresh(self) -> None:
        live, other = self.live_ring, self.other_end
        total_live = sum(live)
        total = total_live + sum(other)
        self.p_live = total_live / total
        # quantile points of the live ring time (seconds, bin centres)
        points: list[float] = []
        acc, k = 0.0, 0
        for b in range(_BINS):
            acc += live[b]
            while k < self.quantiles and acc >= total_live * (k + 0.5) / self.quantiles:
                points.append(b + 0.5)
                k += 1
        self.r_points = points
        # cumulative counts: live answered by second x, other stopped by second x
        cl, co = [0.0] * (_BINS + 1), [0.0] * (_BINS + 1)
        for b in range(_BINS):
            cl[b + 1] = cl[b] + live[b]
            co[b + 1] = co[b] + other[b]
        # q[a][k]: P(live answer within r_k more seconds | still ringing at age a)
        q: list[tuple[float, ...]] = []
        for a in range(_BINS):
            alive = (total_live - cl[a]) + (total - total_live - co[a])
            if alive <= 1e-9:
                q.append(tuple(0.0 for _ in points))
                continue
            q.append(tuple((cl[min(_BINS, a + int(r + 0.5))] - cl[a]) / alive for r in points))
        self.q = q
        dead = _BINS - 1
        while dead > 0 and not any(q[dead - 1]):
            dead -= 1
        self.q_dead = dead  # rows from this age on are all zero
        # g[k]: P(a call dialed now is a live answer within r_k)
        self.g = tuple(cl[min(_BINS, int(r + 0.5))] / total for r in points)
        # wrap: probability that a wrap of age w ends within h (h per quantile point + 2 s)
        wraps = self.wrap_hist
        wtotal = sum(wraps)
        cw = [0.0] * (_WRAP_BINS + 1)
        for b in range(_WRAP_BINS):
            cw[b + 1] = cw[b] + wraps[b]
        self.wrap_cum, self.wrap_total = cw, wtotal
        self.wrap_mean = sum(b * w for b, w in enumerate(wraps)) / wtotal
        mu = self.talk_log_sum / self.talk_n
        var = max(self.talk_log_sq / self.talk_n - mu * mu, 1e-6)
        if abs(mu - getattr(self, "talk_mu", 0.0)) > 0.02 or abs(math.sqrt(var) - self.talk_sd) > 0.02:
            self.talk_mu, self.talk_sd = mu, math.sqrt(var)
            self._build_hazard()

    def _talk_hazard(self, age: int) -> float:
        """Probability density of the talk ending at `age` given it lasted that long (per second)."""
        table = self._hazard
        if age >= len(table):
            return table[-1]
        return table[age]

    def _build_hazard(self) -> None:
        mu, sd = self.talk_mu, self.talk_sd
        table = []
        prev = 1.0
        for age in range(0, 3601, 1):
            z = (math.log(age + 1.0) - mu) / sd
            surv = 0.5 * math.erfc(z / _SQRT2)
            table.append((prev - surv) / prev if prev > 1e-12 else 1.0)
            prev = surv
        self._hazard = table
        self._talk_key = (-1, 0.0)

    # --- the decision -------------------------------------------------------------------------------
    def beta(self) -> float:
        boost = max(min(self.kp * self.allowance(), self.boost_max), -4.0)
        return min(math.exp(self.log_beta + boost), 0.5)

    def lines(
        self,
        now: float,
        ringing: Mapping[int, int],
        waiting: int,
        free: int,
        wrap_starts: Iterable[float],
        talk_starts: Collection[float],
    ) -> int:
        """How many new calls to dial at `now` (seconds).

        `ringing`: dial second -> calls still ringing; `waiting`: live answers waiting for an agent;
        `free`: idle agents; `wrap_starts` / `talk_starts`: when each busy agent began wrap / talk.
        """
        if now >= self._next_refresh:
            self._refresh()
            self._next_refresh = now + self.refresh_s
        in_flight = sum(ringing.values())
        channels = self.max_lines - in_flight
        if self.max_channels is not None:  # every ringing, waiting and talking call holds a channel
            channels = min(channels, self.max_channels - in_flight - waiting - len(talk_starts))
        # progressive floor: never leave an agent unserved (as far as the channels go)
        uncovered = max(min(free - waiting - in_flight, channels), 0)
        if self.measured_calls < 50 or self.abandoned + self.hard_room > self.cap * self.live:
            return uncovered
        room = channels
        if room <= 0:
            return 0
        points, q, g = self.r_points, self.q, self.g
        base = float(free - waiting)
        mean = [base for _ in points]
        var = [0.0 for _ in points]
        now_sec = int(now)
        dead = self.q_dead  # from this age on, no live answer was ever measured: nothing to add
        for second, count in ringing.items():
            age = now_sec - second
            if age >= dead:
                continue
            row = q[age]
            mean = [m - count * p for m, p in zip(mean, row)]
            var = [v + count * p * (1.0 - p) for v, p in zip(var, row)]
        cw, wtotal = self.wrap_cum, self.wrap_total
        for start in wrap_starts:
            a = int(now - start)
            if a >= _WRAP_BINS:
                a = _WRAP_BINS
            left = wtotal - cw[a]
            for k, r in enumerate(points):
                if left <= 1e-9:
                    p = 1.0
                else:
                    e = int(now - start + r + 2.0)
                    p = (cw[e if e < _WRAP_BINS else _WRAP_BINS] - cw[a]) / left
                mean[k] += p
                var[k] += p * (1.0 - p)
        wm = self.wrap_mean
        late = [(k, r + 2.0 - wm) for k, r in enumerate(points) if r + 2.0 > wm]
        if late:
            key = (now_sec, sum(talk_starts))  # the same agents in the same second: same rate
            if key == self._talk_key:
                rate = self._talk_rate
            else:
                hz = self._hazard
                top = len(hz) - 1
                rate = 0.0
                for start in talk_starts:
                    a = int(now - start)
                    rate += hz[a if a < top else top]
                self._talk_key, self._talk_rate = key, rate
            for k, h in late:
                p = rate * h  # few of many talking agents end within seconds: Poisson
                mean[k] += p
                var[k] += p
        # an extra line while agents sit idle mostly buys an abandoned call for seconds of idle time:
        # measured, the budget is better spent dialing ahead of agents about to leave wrap-up
        budget = self.beta() / (1.0 + self.idle_cut * max(free - waiting, 0))
        k_n = len(points)
        n = 0
        while n < room:
            risk = 0.0
            for m, v, gk in zip(mean, var, g):
                m -= n * gk
                v += n * gk * (1.0 - gk)
                if v <= 1e-12:
                    risk += 1.0 if m < 0.5 else 0.0
                else:
                    risk += _phi((0.5 - m) / math.sqrt(v))
            if risk / k_n > budget:
                break
            n += 1
        return max(n, uncovered)


class FixedRatioPacer:
    """Lines in flight = ratio x (idle agents) minus calls already ringing: the classic fixed dial ratio."""

    def __init__(self, ratio: float):
        self.ratio = ratio

    def lines(self, now, ringing, waiting, free, wrap_starts, talk_starts) -> int:  # noqa: ARG002
        in_flight = sum(ringing.values())
        return max(int(self.ratio * max(free - waiting, 0) + 0.5) - in_flight, 0)

    def observe_ring_end(self, live: bool, ring_s: float) -> None:
        pass

    def observe_live(self, abandoned: bool) -> None:
        pass

    def observe_talk(self, talk_s: float) -> None:
        pass

    def observe_wrap(self, wrap_s: float) -> None:
        pass

    def reset_window(self, live: int = 0, abandoned: int = 0) -> None:
        pass
