"""A simulated trunk: call outcomes drawn from a seeded `CallModel`, on a `VirtualClock`.

The model has two halves. The network half (answer, busy, no-answer, voicemail and invalid-number rates,
ring times) is what `MockTrunk` plays out through the `cctool.trunk.Trunk` interface. The agent half
(talk time log-normal around an AHT, wrap-up, the disposition mix agents give) is what the engine's
simulated agents draw from, on any trunk. The defaults are the pacing benchmark's model (issue 4):

    live answer 0.25 after uniform(4, 16) s; busy 0.10 after 3 s; answering machine 0.10, answered after
    uniform(4, 16) s and recognised 3 s later; otherwise no answer, given up at 20 s;
    talk log-normal with mean 180 s (sigma 0.6 of the underlying normal), wrap-up 15 s.

Same seed, same run: the trunk draws from its own `random.Random` in the order the engine dials.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError
from .trunk import CallResult, TrunkEvents

DEFAULT_DISPOSITIONS: dict[str, float] = {
    "sale": 0.12,
    "interested": 0.13,
    "not_interested": 0.55,
    "callback": 0.10,
    "dnc_request": 0.04,
    "wrong_number": 0.06,
}


@dataclass(frozen=True)
class CallModel:
    """What happens when a number is dialed, and how long agents spend on a connected call."""

    live_rate: float = 0.25  # a person answers
    busy_rate: float = 0.10
    machine_rate: float = 0.10  # an answering machine (voicemail outcome)
    invalid_rate: float = 0.0  # the network rejects the number at once
    ring_min_s: float = 4.0  # live and machine answers come after uniform(ring_min, ring_max)
    ring_max_s: float = 16.0
    busy_after_s: float = 3.0
    machine_detect_s: float = 3.0  # answering-machine detection after the machine answers
    invalid_after_s: float = 1.0
    no_answer_s: float = 20.0  # the network gives up (the campaign's ring timeout may be shorter)
    aht_s: float = 180.0  # mean talk time
    talk_sigma: float = 0.6  # sigma of the underlying normal
    wrap_s: float = 15.0
    dispositions: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DISPOSITIONS))

    def __post_init__(self) -> None:
        problem = self.problem()
        if problem:
            raise UserError(f"call model: {problem}")

    def problem(self) -> str | None:
        """What is wrong with the model, naming the setting and its value (None when it is sound).

        Every time must be a finite number >= 0 (a negative or infinite ring or talk time would end every
        call at once, or never, and burn the list or lose the attempts), every rate finite and >= 0."""
        for f in fields(self):
            if f.name == "dispositions":
                continue
            value = getattr(self, f.name)
            if not math.isfinite(value) or value < 0:
                return f"{f.name} is {value:g}: it must be a finite number >= 0"
        rates = {"live_rate": self.live_rate, "busy_rate": self.busy_rate,
                 "machine_rate": self.machine_rate, "invalid_rate": self.invalid_rate}  # fmt: skip
        if sum(rates.values()) > 1.0 + 1e-9:
            terms = " + ".join(f"{k} {v:g}" for k, v in rates.items())
            return (
                f"{terms} = {sum(rates.values()):g}: the rates must sum to <= 1 (a rate the file does "
                "not set keeps its default)"
            )
        if self.ring_min_s > self.ring_max_s:
            return f"ring_min_s {self.ring_min_s:g} is above ring_max_s {self.ring_max_s:g}"
        for name in ("aht_s", "no_answer_s"):
            if getattr(self, name) <= 0:
                return f"{name} is 0: it must be more than 0"
        weights = list(self.dispositions.values())
        if any(not math.isfinite(w) or w < 0 for w in weights) or not any(w > 0 for w in weights):
            return "dispositions need finite weights >= 0, at least one of them more than 0"
        return None

    @property
    def talk_mu(self) -> float:
        """mu of the underlying normal so that the log-normal's mean is `aht_s`."""
        return math.log(self.aht_s) - self.talk_sigma**2 / 2

    @classmethod
    def from_file(cls, path: Path | str) -> CallModel:
        """Load a model from YAML; unknown keys and bad values are one-line errors."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise UserError(f"model file {path} does not exist") from None
        except OSError as exc:  # a folder, no permission
            raise UserError(f"model file {path} cannot be read ({exc.strerror}): give a YAML file") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise UserError(f"model file {path} is not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise UserError(f"model file {path} must be a mapping of settings")
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "model") -> CallModel:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"{where}: unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "dispositions":
                if not isinstance(value, dict):
                    raise UserError(f"{where}: dispositions must map a disposition to its weight")
                weights = {str(k): _number(v) for k, v in value.items()}
                if any(w is None for w in weights.values()):
                    raise UserError(f"{where}: disposition weights must be numbers")
                values[key] = weights
            else:
                number = _number(value)
                if number is None:
                    raise UserError(f"{where}: {key} must be a number, not {value!r}")
                values[key] = number
        try:
            return cls(**values)
        except UserError as exc:  # name the file, not "call model"
            raise UserError(f"{where}: {str(exc).removeprefix('call model: ')}") from None

    def disposition_table(self, allowed: list[str] | None) -> tuple[list[str], list[float]]:
        """Names and cumulative weights over the campaign's dispositions (the model's mix by default).

        A campaign name the mix does not know shares the weight of the mix's names the campaign lacks,
        so a survey's `completed` and `refused` take the place of `sale` and `not_interested`.
        """
        mix = {k: w for k, w in self.dispositions.items() if w > 0}
        names = list(allowed) if allowed else list(mix)
        unknown = [n for n in names if n not in mix]
        spare = sum(w for k, w in mix.items() if k not in names)
        weights = [mix.get(n, spare / len(unknown) if unknown else 0.0) for n in names]
        if sum(weights) <= 0:
            weights = [1.0] * len(names)
        total, cumulative = sum(weights), []
        acc = 0.0
        for weight in weights:
            acc += weight
            cumulative.append(acc / total)
        return names, cumulative


def _number(value: Any) -> float | None:
    """A YAML number, or text that reads as one (YAML takes `1e-3` for text); None for anything else,
    a boolean included (Python would take `yes` for 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


class MockTrunk:
    """`Trunk` on a virtual clock: each dial draws its fate from the model when it is placed."""

    name = "mock"
    max_channels: int | None = None
    max_cps: float | None = None

    def __init__(self, model: CallModel | None = None, seed: int | None = 0):
        self.model = model or CallModel()
        self.rng = random.Random(f"trunk:{seed}")
        # call_no -> [call_no, answered, ring_s, result]: the events scheduled for a call carry this list,
        # and one whose call has ended (hung up, or the trunk closed) finds it gone and does nothing
        self._calls: dict[int, list[Any]] = {}
        self._clock: Any = None
        self._events: TrunkEvents | None = None
        m = self.model
        self._cuts = (
            m.live_rate,
            m.live_rate + m.busy_rate,
            m.live_rate + m.busy_rate + m.machine_rate,
            m.live_rate + m.busy_rate + m.machine_rate + m.invalid_rate,
        )
        # what every dial needs, worked out once: ring times, and the results that never vary (shared)
        self._ring_min, self._ring_span = m.ring_min_s, m.ring_max_s - m.ring_min_s
        self._busy = (m.busy_after_s, CallResult("busy", ring_s=m.busy_after_s))
        self._invalid = (m.invalid_after_s, CallResult("invalid", ring_s=m.invalid_after_s))
        self._timeout_for: float | None = None  # the ring timeout the two below were worked out for
        self._timeout = m.no_answer_s
        self._no_answer = CallResult("no_answer", ring_s=m.no_answer_s)

    def start(self, clock: Any, events: TrunkEvents) -> None:
        self._clock = clock
        self._events = events

    def dial(self, call_no: int, e164: str, caller_id: str, ring_timeout_s: float) -> None:
        assert self._events is not None, "MockTrunk.start() first"
        rng = self.rng
        u = rng.random()
        if ring_timeout_s != self._timeout_for:  # the campaign's: the same on every dial
            self._timeout_for = ring_timeout_s
            self._timeout = timeout = min(self.model.no_answer_s, ring_timeout_s)
            self._no_answer = CallResult("no_answer", ring_s=timeout)
        live, busy, machine, invalid = self._cuts
        if u < live or busy <= u < machine:
            ring = self._ring_min + self._ring_span * rng.random()
            if ring < self._timeout:
                call: list[Any] = [call_no, False, ring, None]
                self._calls[call_no] = call
                self._clock.schedule(ring, self._machine if u >= live else self._answer, call)
                return
            after, result = self._timeout, self._no_answer
        elif u < busy:
            after, result = self._busy
        elif u < invalid:
            after, result = self._invalid
        else:
            after, result = self._timeout, self._no_answer
        call = [call_no, False, after, result]
        self._calls[call_no] = call
        self._clock.schedule(after, self._end, call)

    def _answer(self, call: list[Any]) -> None:
        """A person answers."""
        if self._calls.get(call[0]) is call:
            call[1] = True
            self._events.on_answer(call[0], False)  # type: ignore[union-attr]

    def _machine(self, call: list[Any]) -> None:
        """An answering machine answers; it is recognised `machine_detect_s` later."""
        if self._calls.get(call[0]) is call:
            call[1] = True
            call[3] = CallResult("voicemail", ring_s=call[2])
            self._clock.schedule(self.model.machine_detect_s, self._end, call)
            self._events.on_answer(call[0], True)  # type: ignore[union-attr]

    def _end(self, call: list[Any]) -> None:
        call_no = call[0]
        if self._calls.get(call_no) is call:
            del self._calls[call_no]
            self._events.on_end(call_no, call[3])  # type: ignore[union-attr]

    def hangup(self, call_no: int, safe_harbour: bool = False) -> None:
        call = self._calls.pop(call_no, None)
        if call is None:
            return
        assert self._events is not None
        outcome = "answered" if call[1] else "no_answer"
        self._events.on_end(
            call_no, CallResult(outcome, ring_s=call[2], detail="safe_harbour" if safe_harbour else "")
        )

    def close(self) -> None:
        for call_no in list(self._calls):
            self.hangup(call_no)
