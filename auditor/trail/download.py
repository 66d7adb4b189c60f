"""One download as read from a browser's history, whatever the browser; and the time conversions.

Chromium stores ``base::Time`` values: microseconds since 1601-01-01 UTC. Firefox stores microseconds (and
milliseconds in its JSON metadata) since 1970-01-01 UTC."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

EPOCH_DELTA_S = 11_644_473_600  # seconds from 1601-01-01 to 1970-01-01
UTC = dt.timezone.utc


def webkit_to_datetime(value: int | None) -> dt.datetime | None:
    if not value or value <= 0:
        return None
    try:
        return dt.datetime.fromtimestamp(value / 1_000_000 - EPOCH_DELTA_S, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def datetime_to_webkit(when: dt.datetime) -> int:
    return int(round((when.timestamp() + EPOCH_DELTA_S) * 1_000_000))


def unix_us_to_datetime(value: int | None) -> dt.datetime | None:
    if not value or value <= 0:
        return None
    try:
        return dt.datetime.fromtimestamp(value / 1_000_000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def iso_local(when: dt.datetime | None) -> str | None:
    """ISO 8601 in this machine's local time zone, with its offset."""
    return when.astimezone().isoformat(timespec="seconds") if when else None


@dataclass
class Window:
    """The look-back window: ``days`` calendar days ending with the reference day (local time)."""

    days: int
    since: dt.datetime
    until: dt.datetime

    @classmethod
    def ending(cls, ref: dt.date, days: int) -> "Window":
        until = dt.datetime.combine(ref + dt.timedelta(days=1), dt.time()).astimezone()
        since = dt.datetime.combine(ref - dt.timedelta(days=days - 1), dt.time()).astimezone()
        return cls(days, since, until)

    def to_dict(self) -> dict[str, object]:
        return {"days": self.days, "since": iso_local(self.since), "until": iso_local(self.until)}


# Chromium DownloadState values (download_types.cc); 3 is the pre-v22 "interrupted", migrated to 4.
CHROMIUM_STATES = {0: "in_progress", 1: "complete", 2: "cancelled", 3: "interrupted", 4: "interrupted"}
# Firefox DownloadHistory metadata states.
FIREFOX_STATES = {0: "in_progress", 1: "complete", 2: "interrupted", 3: "cancelled", 4: "interrupted",
                  6: "blocked", 8: "blocked"}


@dataclass
class Download:
    browser: str  # browser id (chrome, edge, 360se, firefox, ...)
    profile: str  # profile folder name (Default, Profile 2, xxxx.default-release)
    os_user: str
    key: str  # guid, or id + start time when the profile has no guid column
    start: dt.datetime | None
    end: dt.datetime | None
    target_path: str  # as the browser stored it (Windows or POSIX form)
    file_name: str
    state: str
    received_bytes: int | None = None
    total_bytes: int | None = None
    mime_type: str | None = None
    opened: bool | None = None
    sha256: str | None = None
    by_extension: str | None = None
    deleted_by_browser: bool | None = None  # Firefox "deleted" flag (file removed from the download panel)
    urls: dict[str, str | None] = field(default_factory=dict)  # page/download URLs: used for matching only
