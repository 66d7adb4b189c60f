"""What one area hands to a later one in the same scan, typed: the files area's verdict on each file it read
(the export trail links a download to it) and the departures of the HR roster (the export trail matches them to
the OS user who downloaded an export). An area states in the registry which kinds it needs and provides."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import safeio

KINDS = ("file_verdicts", "departures")


@dataclass(frozen=True)
class FileVerdict:
    """The file scan's judgement of one file (all tables and members of it together)."""

    records: int
    id_rows: int
    masked_share: float
    finding: bool  # the files area would report it (PI-001/PI-002)
    finding_id: str | None = None  # the finding of this scan, when the files area ran
    check_id: str | None = None


def verdict_key(path: Path | str) -> str:
    """How a file is looked up: its absolute, case-normalised path (never shown)."""
    return os.path.normcase(os.path.abspath(path))


@dataclass
class FileVerdicts:
    """files -> trail. ``judged`` holds what the files area judged in this scan (by ``verdict_key`` of the real
    path, plus ``!member`` for an archive member); ``judge_one`` judges a file the scan did not reach (it reads the
    file: call it from a collector only)."""

    judged: dict[str, FileVerdict] = field(default_factory=dict)
    judge_one: Callable[[Path, safeio.Tree], FileVerdict | None] | None = None

    def lookup(self, path: Path, tree: safeio.Tree = safeio.LIVE) -> tuple[FileVerdict | None, str]:
        """(verdict or None, source): ``files-area`` (judged in this scan), ``verdict_for`` (judged now),
        ``no-personal-data`` or ``unavailable (…)``."""
        found = self.judged.get(verdict_key(path))
        if found is not None:
            return found, "files-area"
        if self.judge_one is None:
            return None, "unavailable"
        try:
            found = self.judge_one(path, tree)
        except Exception as exc:  # noqa: BLE001 - a file that cannot be judged stays unjudged
            return None, f"unavailable ({type(exc).__name__})"
        return (found, "verdict_for") if found is not None else (None, "no-personal-data")


@dataclass(frozen=True)
class Departure:
    """A person of the HR roster with a departure date."""

    date: dt.date
    who: str  # the roster value that matched the OS user (PC account, employee id or name)
    employee_id: str = ""
    name: str = ""


@dataclass
class Departures:
    """accounts -> trail: departures by the values an OS user may be called (PC account, employee id, name; case
    folded). ``problem``: the roster could not be read (the reason)."""

    by_key: dict[str, Departure] = field(default_factory=dict)
    note: str = ""
    problem: str | None = None

    def for_user(self, os_user: str) -> Departure | None:
        return self.by_key.get(os_user.casefold())


@dataclass
class Handover:
    """The hand-over of one scan: one attribute per kind of ``KINDS``, None until an area provides it."""

    file_verdicts: FileVerdicts | None = None
    departures: Departures | None = None

    def has(self, kind: str) -> bool:
        return getattr(self, kind) is not None
