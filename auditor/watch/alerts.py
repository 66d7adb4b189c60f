"""Where alerts go: one line of JSON in the events file (owner-only, appended, flushed and fsynced per line) and on
the console, and optionally a webhook. The webhook runs on its own thread with a bounded queue, a short timeout
and bounded retries, so a slow or dead endpoint never delays or loses a line in the events file.

The agent runs as root and the events file may lie where a user can write: it is opened through folder
descriptors (a user's symbolic link on the way is not followed), never through a link itself (``O_NOFOLLOW``),
without blocking (a FIFO is refused, not waited on), and it must be a regular file with one link that belongs
to the account the agent runs as; a new one is created owner-only. Lines are ``terminal.json_line``: nothing in
them is obeyed by a terminal that shows them. The webhook never follows a redirect (a 3xx is a failure)."""

from __future__ import annotations

import datetime as dt
import os
import queue
import socket
import stat
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from .. import agentlog, safeio
from ..urlcreds import split_credentials
from ..durable import mkdir_private, restrict_to_owner
from ..errors import UsageError
from ..i18n import t
from ..leakguard import scrub  # every event checked for personal data before it is written
from ..terminal import echo, json_line

WEBHOOK_TIMEOUT = 2.0  # seconds per attempt
WEBHOOK_ATTEMPTS = 3
WEBHOOK_BACKOFF = (0.5, 1.0)  # seconds before the 2nd and 3rd attempt
WEBHOOK_QUEUE = 1000
#: events that are alerts (sent to the webhook); the others are status lines (events file and console only)
ALERT_EVENTS = {"file_finding", "remote_tool", "path_lost"}


def check_webhook_url(url: str) -> str:
    try:
        parts = urllib.parse.urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        ok = False
    if not ok:
        raise UsageError("usage.watch.bad_webhook", url=shown_url(url))
    return url


def shown_url(url: str) -> str:
    """A URL as it may be printed: no user:password@, no query or fragment (they may carry tokens)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "(not a URL)"


_O_EVENTS = (os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
             | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def _folder(path: Path) -> safeio.OpenDir:
    """The events file's folder, opened by descriptor under safeio's rules; missing folders are created
    (owner-only) one by one inside their opened parent, never through a link."""
    try:
        return safeio.OpenDir.open(path)
    except FileNotFoundError:
        if path.parent == path:
            raise
    with _folder(path.parent) as parent:
        try:
            if parent.fd is None:
                mkdir_private(path)
            else:
                mkdir_private(path.name, dir_fd=parent.fd)
        except FileExistsError:
            pass
    return safeio.OpenDir.open(path)


def _lstat(name, dir_fd: int | None = None) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return None


def _problem(st: os.stat_result | None) -> str | None:
    """Why an existing events file is not ours to append to; None when it is (or when there is none)."""
    if st is None:
        return None
    if stat.S_ISLNK(st.st_mode) or getattr(st, "st_file_attributes", 0) & 0x400:
        return "a symbolic link (or junction), not followed"
    if not stat.S_ISREG(st.st_mode):
        return f"{safeio.kind_of(st.st_mode)}, not a regular file"
    if st.st_nlink > 1:
        return f"a file with {st.st_nlink} hard links (it may be another file's second name)"
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"owned by uid {st.st_uid}, not by the account the agent runs as"
    return None


def open_events(events: Path):
    """The events file opened for appending (see the module text); UsageError with the reason otherwise."""
    events = Path(os.path.abspath(events))

    def refuse(why: str) -> UsageError:
        return UsageError("usage.watch.cannot_open_events", events=events, why=why)

    try:
        with _folder(events.parent) as folder:
            if folder.fd is None:  # Windows: no folder descriptors; a reparse point is refused by its attributes
                problem = _problem(_lstat(events))
                if problem:
                    raise refuse(problem)
                fd = os.open(events, _O_EVENTS, 0o600)
            else:
                try:
                    fd = os.open(events.name, _O_EVENTS, 0o600, dir_fd=folder.fd)
                except OSError as exc:  # say what was planted (the kernel's own protections answer EACCES)
                    problem = _problem(_lstat(events.name, folder.fd))
                    if problem:
                        raise refuse(problem) from None
                    raise
    except safeio.Refused as exc:
        raise refuse(exc.reason) from None
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from None
    try:
        st = os.fstat(fd)
        problem = _problem(st)
        if problem:
            raise refuse(problem)
        if hasattr(os, "fchmod") and stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, 0o600)
        if sys.platform != "win32":  # opened O_NONBLOCK (POSIX only); Windows refuses set_blocking on files
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    if sys.platform == "win32":
        try:
            restrict_to_owner(events)
        except OSError:
            pass
    return os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")


class Sink:
    def __init__(self, events: Path | None, console: bool = True, webhook: str | None = None,
                 lang: str = "zh") -> None:
        self.lang = lang  # of the terminal lines
        self.lock = threading.Lock()
        self.console = console
        self.host = socket.gethostname()
        self.fh = open_events(events) if events is not None else None
        self.webhook = Webhook(webhook, self) if webhook else None

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        now = time.time()
        stamp = dt.datetime.fromtimestamp(now).astimezone().isoformat(timespec="milliseconds")
        record = scrub({"time": stamp, "ts": round(now, 3), "event": event, "host": self.host, **fields})
        line = json_line(record)
        with self.lock:
            if self.fh is not None:
                try:
                    self.fh.write(line + "\n")
                    self.fh.flush()
                    os.fsync(self.fh.fileno())
                except OSError as exc:
                    self.status(t(self.lang, "watch.events_failed", why=exc.strerror or exc))
            if self.console and event in ALERT_EVENTS:
                print(line, flush=True)
        if event in ALERT_EVENTS:
            agentlog.watch_alert(record)  # the log file and the event log / syslog (a masked one-line summary)
            if self.webhook is not None:
                self.webhook.post(record)
        return record

    def status(self, message: str) -> None:
        echo(f"auditor watch: {message}", err=True, flush=True)

    def close(self) -> None:
        if self.webhook is not None:
            self.webhook.stop()
        with self.lock:
            if self.fh is not None:
                try:
                    self.fh.close()
                except OSError:  # what a full disk kept from being written was said when it failed
                    pass
                self.fh = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered, never followed: the alert (masked evidence) goes only where it was configured."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class Webhook:
    """POST each alert as JSON. At most WEBHOOK_ATTEMPTS tries of WEBHOOK_TIMEOUT seconds each; a failure is
    recorded as a `webhook_failed` line in the events file (never retried forever, never re-posted)."""

    def __init__(self, url: str, sink: Sink) -> None:
        bare, self.auth = split_credentials(check_webhook_url(url))
        self.url = urllib.parse.urlunsplit(bare)
        self.sink = sink
        self.queue: queue.Queue = queue.Queue(WEBHOOK_QUEUE)
        self.thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self.thread.start()
        self.sent = self.failed = 0

    def post(self, record: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.sink.emit("webhook_failed", alert_time=record.get("time"), alert_event=record.get("event"),
                           error=f"webhook queue full ({WEBHOOK_QUEUE} alerts waiting); alert not posted")

    def _send(self, body: bytes) -> str | None:
        req = urllib.request.Request(self.url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "yuncang-auditor-watch", **self.auth})
        try:
            with _OPENER.open(req, timeout=WEBHOOK_TIMEOUT) as resp:  # noqa: S310 - http(s) checked
                resp.read(1 << 16)
                return None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                return f"HTTP {exc.code} (redirect not followed)"
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"{type(reason).__name__}: {reason}"

    def _run(self) -> None:
        while True:
            record = self.queue.get()
            if record is None:
                return
            body = json_line(record).encode("utf-8")
            error = None
            for attempt in range(WEBHOOK_ATTEMPTS):
                error = self._send(body)
                if error is None:
                    break
                if attempt < len(WEBHOOK_BACKOFF):
                    time.sleep(WEBHOOK_BACKOFF[attempt])
            if error is None:
                self.sent += 1
            else:
                self.failed += 1
                self.sink.emit("webhook_failed", alert_time=record["time"], alert_event=record["event"],
                               attempts=WEBHOOK_ATTEMPTS, error=error)

    def stop(self, wait: float = 3.0) -> None:
        try:
            self.queue.put_nowait(None)
        except queue.Full:
            pass
        self.thread.join(wait)  # alerts still queued after this are in the events file already
