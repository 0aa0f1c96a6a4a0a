"""Using a SIP trunk without the dialer: an OPTIONS health check, and a batch of calls with a fixed
talk time. `cctool trunk check/call`, the demo, the tests and the benchmark all come through here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from ..clock import WallClock
from ..trunk import CallResult, TrunkFatal
from .config import TrunkConfig
from .trunk import SipTrunk


@dataclass(frozen=True)
class CheckReport:
    target: str
    code: int | None  # None: nothing answered
    reason: str
    server: str
    latency_ms: float | None


@dataclass
class CallsReport:
    """What happened to a batch of calls, from the trunk's side."""

    results: dict[int, CallResult] = field(default_factory=dict)
    order: list[tuple[str, int]] = field(default_factory=list)  # (ringing|answered|ended, call) in order
    peak_answered: int = 0  # most calls answered and not yet ended at one moment (open dialogs)
    peak_active: int = 0
    open_dialogs_after: int = 0
    fatal: str | None = None
    elapsed_s: float = 0.0
    dial_span_s: float = 0.0  # from the first dial to the last one
    retransmits: int = 0


def check(config: TrunkConfig, timeout_s: float = 5.0) -> CheckReport:
    """Send one OPTIONS to the trunk and wait up to `timeout_s` for any final answer."""
    clock = WallClock()
    trunk = SipTrunk(config)
    target = f"{config.host}:{config.port}/{config.transport}"
    try:
        try:
            trunk.start(clock, None)
        except TrunkFatal as exc:
            return CheckReport(target, None, str(exc), "", None)
        trunk.options(0)
        clock.run_until(clock.now() + timedelta(seconds=timeout_s), stop=lambda: 0 in trunk.options_answers)
        answer = trunk.options_answers.get(0)
        trunk.close(timeout_s=0)
        if answer is None or answer.code is None:
            return CheckReport(target, None, f"no answer within {timeout_s:g} s", "", None)
        return CheckReport(
            target, answer.code, answer.reason, answer.server, round(answer.latency_s * 1000, 2)
        )
    finally:
        clock.close()


class _Recorder:
    def __init__(self, report: CallsReport, clock: WallClock, trunk: SipTrunk, talk_s: float):
        self.report, self.clock, self.trunk, self.talk_s = report, clock, trunk, talk_s
        self.live: set[int] = set()

    def on_ringing(self, call_no: int) -> None:
        self.report.order.append(("ringing", call_no))

    def on_answer(self, call_no: int, machine: bool) -> None:
        self.report.order.append(("answered", call_no))
        self.live.add(call_no)
        self.report.peak_answered = max(self.report.peak_answered, len(self.live))
        self.clock.call_later(self.talk_s, lambda: self.trunk.hangup(call_no))

    def on_end(self, call_no: int, result: CallResult) -> None:
        self.live.discard(call_no)
        self.report.order.append(("ended", call_no))
        self.report.results[call_no] = result


def place_calls(
    config: TrunkConfig,
    phones: list[str],
    caller_id: str = "+10000000000",
    talk_s: float = 1.0,
    ring_timeout_s: float | None = None,
    rate_cps: float | None = None,
    deadline_s: float = 120.0,
) -> CallsReport:
    """Dial each phone (all at once, or `rate_cps` a second), hang up answered calls after `talk_s`,
    and return once every call has ended (or `deadline_s` passed; the trunk is closed either way)."""
    clock = WallClock()
    trunk = SipTrunk(config)
    report = CallsReport()
    recorder = _Recorder(report, clock, trunk, talk_s)
    ring = ring_timeout_s or config.ring_timeout
    started = time.monotonic()
    dialed = [0]

    def dial(i: int) -> None:
        if trunk.fatal is not None:
            return
        try:
            trunk.dial(i, phones[i], caller_id, ring)
        except TrunkFatal:
            return
        dialed[0] += 1
        report.dial_span_s = time.monotonic() - started
        report.peak_active = max(report.peak_active, trunk.active_calls)

    try:
        try:
            trunk.start(clock, recorder)
        except TrunkFatal as exc:
            report.fatal = str(exc)
            return report
        for i in range(len(phones)):
            if rate_cps:
                clock.call_later(i / rate_cps, partial(dial, i))
            else:
                dial(i)

        def finished() -> bool:
            return trunk.fatal is not None and not trunk.active_calls or len(report.results) >= len(phones)

        clock.run_until(clock.now() + timedelta(seconds=deadline_s), stop=finished)
        report.retransmits = trunk.ua.stats["retransmits"] if trunk.ua else 0
        trunk.close()
        report.open_dialogs_after = trunk.open_dialogs
        report.fatal = str(trunk.fatal) if trunk.fatal else None
    finally:
        clock.close()
    report.elapsed_s = time.monotonic() - started
    return report
