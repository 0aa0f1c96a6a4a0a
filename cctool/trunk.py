"""The seam between the dialer and the telephone network: one `Trunk` interface, several trunks.

`MockTrunk` (cctool.mocktrunk) simulates calls on a virtual clock from a call model; `SipTrunk`
(cctool.sip.trunk) places real calls on the wall clock. The engine talks to both the same way:

    trunk.start(clock, events)                      once, before the first dial
    trunk.dial(call_no, e164, caller_id, ring_timeout_s)
        -> later: events.on_ringing(call_no)        (180/183, or simulated ringing)
        -> later: events.on_answer(call_no, machine) (2xx; machine=True for an answering machine the
                                                     model knows of; a SIP trunk always says False)
        -> later: events.on_end(call_no, result)    exactly once per dial
    trunk.hangup(call_no, safe_harbour=False)       the engine ends an answered call (after the talk
                                                    time, or at once with the safe-harbour message
                                                    when no agent was free: an abandoned call);
                                                    on a ringing call it cancels (CANCEL)
    trunk.close()                                   cancel every ringing call, BYE every answered one;
                                                    on_end is still called for each

`call_no` is the engine's own number for the call. Outcomes are the attempt outcomes of the schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .clock import Clock

OUTCOMES = ("answered", "busy", "no_answer", "voicemail", "invalid", "failed", "abandoned")


@dataclass(frozen=True)
class CallResult:
    """How a dial ended, as the trunk saw it."""

    outcome: str  # answered, busy, no_answer, voicemail, invalid, failed (the engine sets abandoned)
    ring_s: float = 0.0  # from the dial to the answer or the end of ringing
    sip_code: int | None = None  # final SIP response code (None on the mock trunk)
    call_id: str | None = None  # SIP Call-ID (None on the mock trunk)
    detail: str = ""


class TrunkEvents(Protocol):
    def on_ringing(self, call_no: int) -> None: ...

    def on_answer(self, call_no: int, machine: bool) -> None: ...

    def on_end(self, call_no: int, result: CallResult) -> None: ...


class TrunkFatal(Exception):
    """The trunk cannot go on (e.g. "trunk rejected credentials"): the run stops with this one line."""


class Trunk(Protocol):
    name: str
    max_channels: int | None  # concurrent calls the trunk allows (None: no limit)
    max_cps: float | None  # calls per second it allows

    def start(self, clock: Clock, events: TrunkEvents) -> None: ...

    def dial(self, call_no: int, e164: str, caller_id: str, ring_timeout_s: float) -> None: ...

    def hangup(self, call_no: int, safe_harbour: bool = False) -> None: ...

    def close(self) -> None: ...
