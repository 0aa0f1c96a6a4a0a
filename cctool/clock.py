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
from typing import Protocol


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
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]):
        self.callback: Callable[[], None] | None = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self.callback = None


class VirtualClock:
    """Discrete-event time: `run_until` pops callbacks in time order and jumps the clock to each."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs an aware start time")
        self._epoch = start.astimezone(UTC)
        self._t = 0.0  # seconds since start; floats keep the hot loop cheap
        self._heap: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()

    @property
    def seconds(self) -> float:
        """Seconds since the clock's start (cheap; the engine uses it in its hot loop)."""
        return self._t

    def now(self) -> datetime:
        return self._epoch + timedelta(seconds=self._t)

    def at_seconds(self, seconds: float) -> datetime:
        return self._epoch + timedelta(seconds=seconds)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(callback)
        heapq.heappush(self._heap, (self._t + max(seconds, 0.0), next(self._seq), timer))
        return timer

    def call_at(self, when: datetime, callback: Callable[[], None]) -> _Timer:
        return self.call_later((when - self._epoch).total_seconds() - self._t, callback)

    def run_until(self, end: datetime, stop: Callable[[], bool] | None = None) -> None:
        limit = (end - self._epoch).total_seconds()
        heap = self._heap
        while heap and heap[0][0] <= limit:
            at, _, timer = heapq.heappop(heap)
            if timer.cancelled or timer.callback is None:
                continue
            self._t = at
            timer.callback()
            if stop is not None and stop():
                return
        self._t = max(self._t, limit)

    def pending(self) -> int:
        return sum(1 for _, _, t in self._heap if not t.cancelled)


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
