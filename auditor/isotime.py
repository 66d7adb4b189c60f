"""ISO 8601 times as reports write them (``2026-11-30T12:30:00+08:00``; ``Z`` for UTC)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def parse(value: Any) -> dt.datetime | None:
    """The moment ``value`` names, time-zone aware (UTC when it names no offset); None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def offset_minutes(value: Any) -> int | None:
    """The UTC offset ``value`` was written with, in minutes (None when it names none or is no time)."""
    if parse(value) is None:
        return None
    offset = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else None
