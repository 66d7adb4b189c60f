"""Where alerts go: one line of JSON in the events file (owner-only, appended, flushed and fsynced per line) and on
the console, and optionally a webhook. The webhook runs on its own thread with a bounded queue, a short timeout
and bounded retries, so a slow or dead endpoint never delays or loses a line in the events file."""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..leakguard import scrub  # every event checked for personal data before it is written

WEBHOOK_TIMEOUT = 2.0  # seconds per attempt
WEBHOOK_ATTEMPTS = 3
WEBHOOK_BACKOFF = (0.5, 1.0)  # seconds before the 2nd and 3rd attempt
WEBHOOK_QUEUE = 1000
#: events that are alerts (sent to the webhook); the others are status lines (events file and console only)
ALERT_EVENTS = {"file_finding", "remote_tool", "path_lost"}


def check_webhook_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--webhook {url}: not an http:// or https:// URL")
    return url


class Sink:
    def __init__(self, events: Path | None, console: bool = True, webhook: str | None = None) -> None:
        self.lock = threading.Lock()
        self.console = console
        self.host = socket.gethostname()
        self.fh = None
        if events is not None:
            events = Path(events)
            try:
                events.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError as exc:
                raise UsageError(f"--events {events}: cannot open for appending ({exc.strerror or exc})") from None
            if sys.platform == "win32":
                from ..fsutil import restrict_to_owner

                try:
                    restrict_to_owner(events)
                except OSError:
                    pass
            self.fh = os.fdopen(fd, "a", encoding="utf-8")
        self.webhook = Webhook(webhook, self) if webhook else None

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        now = time.time()
        stamp = dt.datetime.fromtimestamp(now).astimezone().isoformat(timespec="milliseconds")
        record = scrub({"time": stamp, "ts": round(now, 3), "event": event, "host": self.host, **fields})
        line = json.dumps(record, ensure_ascii=False, default=str)
        with self.lock:
            if self.fh is not None:
                try:
                    self.fh.write(line + "\n")
                    self.fh.flush()
                    os.fsync(self.fh.fileno())
                except OSError as exc:
                    print(f"auditor watch: cannot write the events file: {exc}", file=sys.stderr, flush=True)
            if self.console and event in ALERT_EVENTS:
                print(line, flush=True)
        if self.webhook is not None and event in ALERT_EVENTS:
            self.webhook.post(record)
        return record

    def status(self, message: str) -> None:
        print(f"auditor watch: {message}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.webhook is not None:
            self.webhook.stop()
        with self.lock:
            if self.fh is not None:
                self.fh.close()
                self.fh = None


class Webhook:
    """POST each alert as JSON. At most WEBHOOK_ATTEMPTS tries of WEBHOOK_TIMEOUT seconds each; a failure is
    recorded as a `webhook_failed` line in the events file (never retried forever, never re-posted)."""

    def __init__(self, url: str, sink: Sink) -> None:
        self.url = check_webhook_url(url)
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
                                              "User-Agent": "yuncang-auditor-watch"})
        try:
            with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT) as resp:  # noqa: S310 - http(s) checked
                resp.read(1 << 16)
                return None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"{type(reason).__name__}: {reason}"

    def _run(self) -> None:
        while True:
            record = self.queue.get()
            if record is None:
                return
            body = json.dumps(record, ensure_ascii=False, default=str).encode("utf-8")
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
