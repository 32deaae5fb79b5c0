"""Small tools that the example configuration runs in the daemon.

A profile names a tool by import path (``livesvc.daemon.demo_tools:current_time``);
the daemon declares it to the model and answers its calls itself.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

__all__ = ["current_time"]


def current_time(timezone: str = "UTC") -> dict[str, str]:
    """Return the current date and time in an IANA time zone such as "Europe/Paris".

    >>> sorted(current_time("UTC"))
    ['iso', 'timezone']
    """
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return {"error": f"unknown time zone {timezone!r}"}
    now = dt.datetime.now(zone)
    return {"timezone": timezone, "iso": now.isoformat(timespec="seconds")}
