"""`auditor watch`: file events on the export roots and a process poll, until Ctrl-C or SIGTERM.

Threads: watchdog's observer (blocks on the OS's change notifications), the debouncer (sleeps until the next
file is due, otherwise waits without a timer), the webhook poster (blocks on its queue), and the main thread,
which polls processes and checks that every watched folder still exists every ``interval`` seconds."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.observers import Observer

from .. import packs
from ..allowlist import load_allowlist
from ..core.checks import checks as load_checks
from ..core.factory import FindingFactory
from ..pii.rules import load_rules
from ..files.textpath import display_path
from ..i18n import t
from .alerts import Sink
from .files import EVENT_FILTER, Debouncer, FileJudge, SkipRules
from .procs import ProcessWatcher


@dataclass
class WatchOptions:
    paths: list[Path]
    events: Path | None = None
    webhook: str | None = None
    interval: float = 2.5
    debounce: float = 0.3
    processes: bool = True
    role: str | None = None
    allowlist: Path | None = None
    console: bool = True
    why: dict[str, str] = field(default_factory=dict)
    lang: str = "zh"  # of the terminal lines


class Watch:
    def __init__(self, opts: WatchOptions) -> None:
        self.opts = opts
        self.stop_event = threading.Event()
        self.sink = Sink(opts.events, console=opts.console, webhook=opts.webhook, lang=opts.lang)
        factory = FindingFactory(load_checks(), opts.role)
        catalog = packs.catalog()
        approvals = load_allowlist(opts.allowlist, catalog) if opts.allowlist else []
        self.judge = FileJudge(load_rules(), factory)
        self.debouncer = Debouncer(opts.debounce, self._settled, SkipRules(opts.paths), self._failed)
        # Windows (ReadDirectoryChangesW emitter) hands events over only after `timeout` seconds of quiet: the
        # default 1 s alone would break the 1-second alert (measured under Wine: 1.33 s end to end).
        self.observer = Observer(timeout=0.1)
        self.watches: dict[Path, object] = {}
        self.lost: set[Path] = set()
        self.procs = None
        if opts.processes:
            self.procs = ProcessWatcher(factory, approvals)

    # ------------------------------------------------------------------ files
    def _failed(self, path: str, exc: Exception) -> None:
        self.sink.status(t(self.opts.lang, "watch.scan_failed", path=display_path(path),
                           why=f"{type(exc).__name__}: {exc}"))

    def _settled(self, path: str) -> None:
        t0 = time.monotonic()
        findings, skipped = self.judge.judge(path)
        took = round(time.monotonic() - t0, 3)
        for f in findings:
            self.sink.emit("file_finding", path=display_path(path), check_id=f["check_id"], severity=f["severity"],
                           records=f["evidence"]["records"], scan_seconds=took, finding=f)
        for s in skipped:
            self.sink.emit("file_skipped", path=s["target"], reason=s["reason"])

    def _schedule(self, root: Path) -> bool:
        try:
            self.watches[root] = self.observer.schedule(self.debouncer, str(root), recursive=True,
                                                        event_filter=EVENT_FILTER)
            return True
        except OSError as exc:
            self.sink.emit("path_error", path=display_path(root), error=f"cannot watch: {exc.strerror or exc}")
            return False

    def _unschedule(self, root: Path) -> None:
        watch = self.watches.pop(root, None)
        if watch is not None:
            try:
                self.observer.unschedule(watch)
            except (KeyError, OSError, ValueError):
                pass

    def _check_roots(self) -> None:
        for root in self.opts.paths:
            here = root.is_dir()
            if not here and root not in self.lost:
                self.lost.add(root)
                self._unschedule(root)
                self.sink.emit("path_lost", path=display_path(root),
                               message="watched folder disappeared; watching resumes when it is back")
            elif here and root in self.lost:
                if self._schedule(root):
                    self.lost.discard(root)
                    self.sink.emit("path_restored", path=display_path(root))
                    self.debouncer.add_tree(str(root))  # what came back with it is scanned too

    # ------------------------------------------------------------------ processes
    def _poll(self) -> None:
        if self.procs is None:
            return
        for f in self.procs.poll():
            ev = f["evidence"]
            self.sink.emit("remote_tool", pid=ev.get("pid"), name=ev.get("name"), tool=(ev.get("tool") or {}).get("id"),
                           check_id=f["check_id"], severity=f["severity"], already_running=f["already_running"],
                           finding={k: v for k, v in f.items() if k != "already_running"})

    # ------------------------------------------------------------------ life cycle
    def request_stop(self, *_args) -> None:
        self.stop_event.set()

    def run(self) -> int:
        old = {}
        for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGBREAK", None)):
            if sig is not None:
                try:
                    old[sig] = signal.signal(sig, self.request_stop)
                except (ValueError, OSError):
                    pass
        try:
            for root in self.opts.paths:
                if root.is_dir():
                    self._schedule(root)
                else:
                    self.lost.add(root)
                    self.sink.emit("path_lost", path=display_path(root), message="watched folder does not exist")
            self.observer.start()
            self._poll()  # the process baseline (tools already running are reported once)
            lang = self.opts.lang  # the status line first: whoever reads the event may read the line at once
            self.sink.status(t(lang, "watch.watching", n=len(self.watches),
                               missing=t(lang, "watch.waiting", n=len(self.lost)) if self.lost else "",
                               processes=t(lang, "watch.processes") if self.procs else ""))
            self.sink.emit("watch_started", pid=os.getpid(), paths=[display_path(p) for p in self.opts.paths],
                           processes=self.procs is not None, interval=self.opts.interval, debounce=self.opts.debounce,
                           webhook=bool(self.opts.webhook))
            while not self.stop_event.wait(self.opts.interval):
                self._check_roots()
                self._poll()
        finally:
            self.observer.stop()
            self.debouncer.stop()
            try:
                self.observer.join(5)
            except RuntimeError:
                pass
            self.sink.emit("watch_stopped", pid=os.getpid())
            self.sink.close()
            for sig, handler in old.items():
                try:
                    signal.signal(sig, handler)
                except (ValueError, OSError):
                    pass
        self.sink.status(t(self.opts.lang, "watch.stopped"))
        return 0
