"""Helper processes that do not outlive the command that started them."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from typing import Any

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies (Linux); exit if it already has.

    A helper left behind by a `kill -9` of its command (cron's timeout) would otherwise hold the database
    open, and a forked one blocks for ever writing to a pipe nobody reads (150 MB each).
    """
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # elsewhere the closed pipe ends it at its next read
    if os.getppid() != parent:
        os._exit(1)


@contextlib.contextmanager
def signals_handled(handler: Any, *numbers: signal.Signals) -> Iterator[None]:
    """`handler` for these signals while the block runs, the previous handlers after it. Off the main
    thread nothing is changed (Python lets only the main thread set handlers)."""
    previous: list[tuple[signal.Signals, Any]] = []
    with contextlib.suppress(ValueError):
        for number in numbers:
            previous.append((number, signal.signal(number, handler)))
    try:
        yield
    finally:
        for number, handler_before in previous:
            signal.signal(number, handler_before)


def raise_interrupt(signum: int, frame: object) -> None:
    """A signal handler: the signal stops the command as Ctrl-C does."""
    raise KeyboardInterrupt
