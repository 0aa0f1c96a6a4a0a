"""The time "now" for tickets and callbacks: `$CCTOOL_NOW` (ISO) when set, else the real UTC time.

Cron simulations and tests pin the clock with the environment variable; the value is cut to whole
seconds so that stored ISO texts compare correctly as strings.
"""

from __future__ import annotations

import os
from datetime import datetime

from .timeutil import parse_time, utcnow


def now() -> datetime:
    """The current UTC time (whole seconds), or the one `$CCTOOL_NOW` pins."""
    text = os.environ.get("CCTOOL_NOW", "").strip()
    moment = parse_time(text, "CCTOOL_NOW") if text else utcnow()
    return moment.replace(microsecond=0)
