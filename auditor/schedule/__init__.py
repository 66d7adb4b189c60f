"""Scheduled scans: when to run (``When``), the command a scheduler runs, and the generators of Task Scheduler
XML, systemd units and cron entries (``texts``); the backends that install them (``backends``); the scheduled
run itself (``runner``)."""

from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core.options import ScanOptions
from ..errors import UsageError
from ..messages import Text
from ..terminal import is_unsafe, visible

NAME = "yuncang-auditor"
UNIT = "yuncang-auditor-scan"  # systemd unit stem
TASK_NAME = r"\yuncang-auditor\scheduled-scan"  # Task Scheduler path
DEFAULT_DAILY = "12:30"  # office PCs are often off at night; missed runs are caught up at the next start

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    **{d: i for i, d in enumerate(DAYS)},
    **{n: i for i, n in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
    **{n: i for i, n in enumerate(("周一", "周二", "周三", "周四", "周五", "周六", "周日"))},
    **{n: i for i, n in enumerate(("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"))},
    "周天": 6, "星期天": 6, **{str(i + 1): i for i in range(7)},
}
SYSTEMD_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TASK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: the scan options a scheduled scan takes (ScanOptions fields), in the order its command line gives them
SCAN_OPTIONS = ("only", "paths", "role", "site")


@dataclass(frozen=True)
class When:
    kind: str  # daily | weekly
    hour: int
    minute: int
    day: int | None = None  # 0 = Monday (weekly only)

    @property
    def hhmm(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"

    def describe(self) -> Text:
        """When it runs, in words (English as a str, as the generated units and task quote it; ``.text(lang)``)."""
        if self.kind == "daily":
            return Text("schedule.when.daily", hhmm=self.hhmm)
        return Text("schedule.when.weekly", day=Text(f"schedule.day.{DAYS[self.day]}"), hhmm=self.hhmm)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "hour": self.hour, "minute": self.minute, "day": self.day}

    @classmethod
    def from_dict(cls, data: dict) -> "When":
        return cls(data["kind"], int(data["hour"]), int(data["minute"]), data.get("day"))

    def next_after(self, now):
        """The next run time after ``now`` (a naive or aware datetime), in the same timezone."""

        cand = now.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        if self.kind == "daily":
            return cand if cand > now else cand + dt.timedelta(days=1)
        cand += dt.timedelta(days=(self.day - now.weekday()) % 7)
        return cand if cand > now else cand + dt.timedelta(days=7)


def parse_hhmm(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise UsageError("usage.schedule.bad_time", text=text)
    return int(m.group(1)), int(m.group(2))


def parse_day(text: str) -> int:
    day = _DAY_ALIASES.get(text.strip().casefold())
    if day is None:
        raise UsageError("usage.schedule.bad_day", text=text)
    return day


def parse_when(daily: str | None, weekly: list[str] | None) -> When:
    if daily and weekly:
        raise UsageError("usage.schedule.daily_and_weekly")
    if weekly:
        day, hhmm = weekly
        h, m = parse_hhmm(hhmm)
        return When("weekly", h, m, parse_day(day))
    h, m = parse_hhmm(daily or DEFAULT_DAILY)
    return When("daily", h, m)


def auditor_argv() -> list[str]:
    """How a scheduler starts this auditor: the one-file auditor.exe itself, or this Python with -m auditor."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "auditor"]


def check_value(what: str, value: str) -> str:
    """``value`` when a scheduler's text can carry it: no control character (CR or LF would start a new crontab
    entry or unit setting), no line separator, no invisible formatting or bidi character, valid Unicode.
    Refused with one message (exit 2) otherwise, the same for every backend, ``--print`` and install alike."""
    bad = sorted({visible(ch) for ch in value if is_unsafe(ch)})
    if bad:
        raise UsageError("usage.schedule.unsafe_value", what=what, visible=visible(value), chars=', '.join(bad))
    return value


@dataclass
class Job:
    """What a scheduled run does: `auditor schedule run-now` with these scan options (and signing key). Every value
    is checked with ``check_value`` when the job is made, so no text generated from it can hold a line break."""

    when: When
    output_dir: Path
    keep: int
    options: ScanOptions
    sign_key: Path | None = None
    lang: str = "zh"  # the language of the run's result line and HTML report (`--lang` of install)

    def __post_init__(self) -> None:
        check_value("--output-dir", str(self.output_dir))
        args = self.scan_args()
        for i, arg in enumerate(args):
            before = args[i - 1] if i else ""
            check_value(before if before.startswith("--") else "scan option", arg)
        for word in auditor_argv():
            check_value("the auditor's own path", word)

    def scan_args(self) -> list[str]:
        """The scan options (and signing key) on the run's command line, built from their declarations."""
        args = self.options.to_argv(SCAN_OPTIONS)
        return args + (["--sign-key", str(self.sign_key)] if self.sign_key else [])

    def argv(self) -> list[str]:
        return [*auditor_argv(), "schedule", "run-now", "--output-dir", str(self.output_dir), "--keep", str(self.keep),
                *self.scan_args(), "--lang", self.lang]
