"""Helper processes that do not outlive the command that started them."""

from __future__ import annotations

import os
import signal

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
