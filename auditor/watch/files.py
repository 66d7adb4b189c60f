"""Watching the export folders: watchdog reports file events; a file is scanned once it has stopped changing
(size and mtime unchanged for the debounce interval), read and judged by the files area itself (its collector's
table reader and its judge); a file holding people's records becomes a `file_finding` alert with the same
finding and masked evidence as a scan.

Files are opened as the files area opens them (auditor.safeio): a FIFO, a device or a user's link named like an
export is a `file_skipped` line with the reason and never stalls the watch, so later exports in the same folder
still alert. The agent's own places (quarantine, state, fleet store) are never judged, wherever they lie."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable

from watchdog.events import (DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileClosedEvent, FileCreatedEvent,
                             FileDeletedEvent, FileModifiedEvent, FileMovedEvent, FileSystemEventHandler)

from .. import safeio
from ..core.context import ScanContext
from ..core.factory import FindingFactory
from ..files.collect import TableReader
from ..files.formats import CANDIDATE_EXT
from ..files.judge import finding_for
from ..files.roots import skip_set
from ..pii.rules import PiiRules, is_finding
from ..files.textpath import display_path
from ..durable import sha256_stream
from ..files.walk import walk
from ..ownplaces import is_own, own_ids
from ..terminal import echo

EVENT_FILTER = [FileCreatedEvent, FileModifiedEvent, FileMovedEvent, FileClosedEvent, FileDeletedEvent,
                DirCreatedEvent, DirMovedEvent, DirDeletedEvent]
MAX_DIR_WALK = 5000  # files picked up from a folder moved into a watched root


def candidate(path: str) -> bool:
    name = os.path.basename(path)
    if name.startswith(("~$", ".~")):
        return False  # Office lock files and LibreOffice locks
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in CANDIDATE_EXT


class _Found:
    """Coverage stand-in for a walk of a folder moved into a watched root: what it could not open is judged
    (and reported as skipped) like any other file."""

    def __init__(self) -> None:
        self.note, self.status, self.skipped = "", "ok", []

    def skip(self, item: str, reason: str) -> None:
        self.skipped.append(item)


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


class Debouncer(FileSystemEventHandler):
    """Collects changed candidate files; hands each one to ``on_stable`` once unchanged for ``quiet`` seconds
    (a close-after-write event shortens the wait to a third)."""

    def __init__(self, quiet: float, on_stable: Callable[[str], None],
                 ignored: Callable[[str], bool] | None = None,
                 failed: Callable[[str, Exception], None] | None = None) -> None:
        self.quiet = quiet
        self.on_stable = on_stable
        self.failed = failed or (lambda path, exc: echo(f"auditor watch: {display_path(path)}: scan failed "
                                                        f"({type(exc).__name__}: {exc})", err=True, flush=True))
        self.ignored = ignored or (lambda path: False)
        self.cond = threading.Condition()
        self.pending: dict[str, tuple[float, tuple[int, int] | None]] = {}
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="debounce", daemon=True)
        self.thread.start()

    # watchdog thread
    def on_any_event(self, event) -> None:
        if event.event_type in ("opened", "closed_no_write", "attrib"):
            return
        if event.is_directory:
            if event.event_type in ("created", "moved"):
                self.add_tree(getattr(event, "dest_path", "") or event.src_path)
            return
        if event.event_type == "deleted":
            with self.cond:
                self.pending.pop(os.fsdecode(event.src_path), None)
            return
        path = os.fsdecode(getattr(event, "dest_path", "") or event.src_path)
        if candidate(path) and not self.ignored(path):
            self.touch(path, closed=event.event_type == "closed")

    def touch(self, path: str, closed: bool = False) -> None:
        delay = self.quiet / 3 if closed else self.quiet
        st = _stat(path)
        with self.cond:
            self.pending[path] = (time.monotonic() + delay, st)
            self.cond.notify()

    def add_tree(self, folder: str) -> None:
        """Every candidate below a folder that appeared (walked by descriptor: no link followed, never the
        agent's own places)."""
        found = _Found()
        n = 0
        names = getattr(self.ignored, "skip_names", set())
        for cand in walk(Path(os.fsdecode(folder)), set(), names, found):
            path = os.fspath(cand.path)
            if not self.ignored(path):
                self.touch(path)
                n += 1
                if n >= MAX_DIR_WALK:
                    return
        for item in found.skipped:
            if candidate(item) and not self.ignored(item) and n < MAX_DIR_WALK:
                self.touch(item)  # a FIFO or link named like an export: judged, hence reported as skipped
                n += 1

    # debounce thread
    def _run(self) -> None:
        while True:
            due: list[str] = []
            with self.cond:
                while not self.stopping:
                    if self.pending:
                        wait = min(d for d, _ in self.pending.values()) - time.monotonic()
                        if wait <= 0:
                            break
                        self.cond.wait(wait)
                    else:
                        self.cond.wait()  # idle: no timer, no CPU
                if self.stopping:
                    return
                now = time.monotonic()
                for path, (deadline, st) in list(self.pending.items()):
                    if deadline > now:
                        continue
                    cur = _stat(path)
                    if cur is None:
                        del self.pending[path]  # gone before it settled (a temporary file)
                    elif cur != st:
                        self.pending[path] = (now + self.quiet, cur)  # still being written
                    else:
                        del self.pending[path]
                        due.append(path)
            for path in due:
                try:
                    self.on_stable(path)
                except Exception as exc:  # noqa: BLE001 - one bad file must not stop the watch
                    self.failed(path, exc)

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify()
        self.thread.join(5)


class SkipRules:
    """The files area's folders never walked (checks/file-roots.toml: caches, browser profiles…) and the agent's
    own places (quarantine, state, fleet store: compared by device and inode, wherever they lie), applied to
    file events below each watched root."""

    OWN_TTL = 2.0  # seconds: the quarantine may be created while the watch runs

    def __init__(self, roots: list[Path]) -> None:
        self.skip_rel, self.skip_names = skip_set(ScanContext(hostname=socket.gethostname()))
        self.roots = sorted((os.path.abspath(str(r)) for r in roots), key=len, reverse=True)
        self._own, self._own_at = own_ids(), time.monotonic()  # at start: no first alert waits for it

    def own(self, path: str) -> bool:
        now = time.monotonic()
        if now - self._own_at > self.OWN_TTL:
            self._own, self._own_at = own_ids(), now
        return is_own(path, self._own)

    def __call__(self, path: str) -> bool:
        if self.own(path):
            return True
        path = os.path.abspath(path)
        root = next((r for r in self.roots if path.startswith(r.rstrip(os.sep) + os.sep)), None)
        if root is None:
            return False
        parts = os.path.relpath(path, root).replace("\\", "/").casefold().split("/")[:-1]  # folders only
        if any(p in self.skip_names for p in parts):
            return True
        return any("/".join(parts[:i]) in self.skip_rel for i in range(1, len(parts) + 1))


class FileJudge:
    """Reads and judges one settled file as the files area does; returns the alerts' findings."""

    def __init__(self, rules: PiiRules, factory: FindingFactory) -> None:
        self.rules = rules
        self.reader = TableReader()
        self.factory = factory
        self.alerted: dict[str, str] = {}  # path -> content digest last alerted (a touch is not a new alert)

    def judge(self, path: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(findings as dicts, skipped tables {target, reason})."""
        skipped = _Skipped()
        tables = self.reader.read(Path(path), skipped)
        findings = [finding_for(t, self.rules, self.factory).to_dict() for t in tables
                    if is_finding(t.summary, self.rules)]
        if findings:
            digest = next((t.summary.get("sha256") for t in tables if t.summary.get("sha256")), None) or _digest(path)
            key = os.path.normcase(os.path.abspath(path))
            if self.alerted.get(key) == digest:
                return [], skipped.items
            self.alerted[key] = digest
        return findings, skipped.items


def _digest(path: str) -> str:
    """The SHA-256 of a file whose tables carry none (an archive), read through auditor.safeio."""
    try:
        with safeio.open_regular(path) as fh:
            return sha256_stream(fh)
    except OSError:
        return ""


class _Skipped:
    """What the table reader could not read, as ``file_skipped`` alerts (a table read only in part still alerts
    with its finding)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def skip(self, item: str, reason: str) -> None:
        self.items.append({"target": item, "reason": reason})

    def partly(self, item: str, reason: str) -> None:
        pass
