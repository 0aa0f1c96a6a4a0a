"""The clock the dialer is given: virtual (a simulated day in seconds) or the wall clock (a real trunk).

The engine never reads the time itself and never sleeps; it asks its clock for `now()` and schedules
work with `call_at()`. `VirtualClock` jumps from one scheduled event to the next; `WallClock` runs the
same callbacks on an asyncio event loop, in real time, which is what a SIP trunk needs.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol


class Handle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, UTC, timezone-aware."""
        ...

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Handle:
        """Run `callback` at `when` (at once if it is in the past); the handle cancels it."""
        ...

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Handle: ...

    def schedule(self, seconds: float, callback: Callable[[Any], None], arg: Any) -> None:
        """Run `callback(arg)` in `seconds`, with no handle to cancel it: the cheap way for the hot loop.

        A callback that may have become moot checks for itself (the call it was for has ended).
        """
        ...

    @property
    def seconds(self) -> float:
        """Seconds since the clock's start: the cheap time the engine's hot loop uses."""
        ...

    def at_seconds(self, seconds: float) -> datetime:
        """The instant `seconds` after the clock's start."""
        ...

    def run_until(self, end: datetime, stop: Callable[[], bool] | None = None) -> None:
        """Run scheduled callbacks until `end`, or until `stop()` is true after a callback."""
        ...


class _Timer:
    """A cancellable event: the heap holds `_Timer._fire` with the timer as its argument."""

    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]):
        self.callback: Callable[[], None] | None = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self.callback = None

    @staticmethod
    def _fire(timer: _Timer) -> None:
        if timer.callback is not None:
            timer.callback()


class VirtualClock:
    """Discrete-event time: `run_until` pops callbacks in time order and jumps the clock to each.

    The heap holds `(time, seq, callback, arg)` tuples: `seq` keeps events of the same instant in the
    order they were scheduled, and a plain tuple with the argument is the cheapest event Python can make
    (no closure, no handle object), which matters at tens of thousands of events per simulated shift.
    """

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs an aware start time")
        self._epoch = start.astimezone(UTC)
        self.seconds = 0.0  # seconds since start (a plain attribute: the engine reads it in its hot loop)
        self._heap: list[tuple[Any, ...]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._epoch + timedelta(seconds=self.seconds)

    def at_seconds(self, seconds: float) -> datetime:
        return self._epoch + timedelta(seconds=seconds)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(callback)
        heapq.heappush(self._heap, (self.seconds + max(seconds, 0.0), next(self._seq), _Timer._fire, timer))
        return timer

    def schedule(self, seconds: float, callback: Callable[[Any], None], arg: Any) -> None:
        if seconds < 0.0:
            seconds = 0.0
        heapq.heappush(self._heap, (self.seconds + seconds, next(self._seq), callback, arg))

    def call_at(self, when: datetime, callback: Callable[[], None]) -> _Timer:
        return self.call_later((when - self._epoch).total_seconds() - self.seconds, callback)

    def run_until(self, end: datetime, stop: Callable[[], bool] | None = None) -> None:
        limit = (end - self._epoch).total_seconds()
        heap, pop, fire = self._heap, heapq.heappop, _Timer._fire
        while heap and heap[0][0] <= limit:
            at, _, callback, arg = pop(heap)
            if callback is fire and arg.callback is None:
                continue  # cancelled: the clock does not move for it
            self.seconds = at
            callback(arg)
            if stop is not None and stop():
                return
        if self.seconds < limit:
            self.seconds = limit

    def pending(self) -> int:
        return sum(1 for _, _, cb, arg in self._heap if cb is not _Timer._fire or arg.callback is not None)


class WallClock:
    """Real time on an asyncio loop. `run_until` drives the loop until `end` or `stop()`."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, tick_s: float = 0.05):
        self.loop = loop or asyncio.new_event_loop()
        self._tick = tick_s
        self._epoch = datetime.now(UTC)
        self._mono0 = time.monotonic()

    @property
    def seconds(self) -> float:
        """Seconds since the clock was made (monotonic), like `VirtualClock.seconds`."""
        return time.monotonic() - self._mono0

    def at_seconds(self, seconds: float) -> datetime:
        return self._epoch + timedelta(seconds=seconds)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self.loop.call_later(max(seconds, 0.0), callback)

    def schedule(self, seconds: float, callback: Callable[[Any], None], arg: Any) -> None:
        self.loop.call_later(max(seconds, 0.0), callback, arg)

    def call_at(self, when: datetime, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self.call_later((when - self.now()).total_seconds(), callback)

    def run_until(self, end: datetime, stop: Callable[[], bool] | None = None) -> None:
        async def wait() -> None:
            while self.now() < end and not (stop is not None and stop()):
                await asyncio.sleep(min(self._tick, max((end - self.now()).total_seconds(), 0.0)))

        self.loop.run_until_complete(wait())

    def run_coroutine(self, coroutine: object) -> object:
        """Run a coroutine (trunk start-up, shutdown) to completion on this clock's loop."""
        return self.loop.run_until_complete(coroutine)  # type: ignore[arg-type]

    def close(self) -> None:
        self.loop.close()
