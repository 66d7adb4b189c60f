"""The agent's own record of what it did.

* **A rotating log file**, ``auditor.log`` in :func:`auditor.paths.log_dir` (the protected data folder when the
  agent runs as root / SYSTEM / an administrator): one line per command started, per scan finished, per watch alert,
  per repair of a protected folder, and the traceback of an internal error. 1 MiB per file, five older files kept
  (``auditor.log.1`` … ``.5``); created owner-only.
* **The system's log**, one line per scan and per watch alert (and per internal error or repaired folder): the
  Windows Application event log under the source ``yuncang-auditor`` (event 1000 scan, 1001 alert, 1002 internal
  error, 1003 protected folder repaired; a warning when the scan found high or critical findings), syslog on Linux
  and macOS through the ``/dev/log`` datagram socket that journald and rsyslog read (tag ``yuncang-auditor``,
  facility user; ``AUDITOR_SYSLOG_SOCKET`` names another socket).

No personal data: lines carry counts, check ids, severities and names as the reports show them, and every line goes
through the leak guard (:func:`auditor.leakguard.mask_pi`) before it is written anywhere. Logging never fails a
command: a log that cannot be written is left out, and the first such failure is said once on stderr."""

from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import os
import socket
import sys
import traceback
from pathlib import Path
from typing import Any, Iterable

from . import TOOL_NAME, __version__, paths
from .durable import restrict_to_owner
from .leakguard import mask_pi
from .terminal import echo

WINDOWS = sys.platform == "win32"
if WINDOWS:
    from .adapters import eventlog, winhost

LOG_FILE = "auditor.log"
MAX_BYTES = 1 << 20
BACKUPS = 5
EVENT_IDS = {"scan": 1000, "alert": 1001, "internal_error": 1002, "protection": 1003}
SYSLOG_ENV = "AUDITOR_SYSLOG_SOCKET"
SYSLOG_SOCKET = "/dev/log"
SYSLOG_LEVELS = {"error": 3, "warning": 4, "info": 6}
LOG_USER = 1
MAX_LINE = 2000
SEVERITIES = ("critical", "high", "medium", "low", "info")

_logger = logging.getLogger(TOOL_NAME)
_logger.propagate = False
_state: dict[str, Any] = {"file": None, "handler": None, "said": False}


class _Masked(logging.Filter):
    """Every record's text through the leak guard, once formatted (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_pi(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = mask_pi("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        return True


class _OwnerOnlyRotating(logging.handlers.RotatingFileHandler):
    """A rotating file created owner-only (0600; the owner-only ACL on Windows) from its first byte."""

    def _open(self):  # noqa: D102 - logging's hook
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            restrict_to_owner(self.baseFilename)
        except OSError:
            pass
        return os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")


def _quiet_failure(what: str, exc: BaseException) -> None:
    if not _state["said"]:
        _state["said"] = True
        echo(f"auditor: {what}: {exc} (the command goes on without it)", err=True)  # the OS's text, escaped


def log_file() -> Path | None:
    """The log file of this process once :func:`start` opened it."""
    return _state["file"]


def start(command: str) -> logging.Logger:
    """Open the log file (once per process) and record the command, the data places' checks and any move of an
    earlier version's data. Returns the logger."""
    folder = paths.log_dir()
    if _state["file"] is None or _state["file"].parent != folder:  # (the places may change between in-process runs)
        _close()
        try:
            folder = paths.prepare(folder)
            for root in paths.protected_roots():  # the data folder too, created or repaired before first use
                paths.protect(root)
            handler = _OwnerOnlyRotating(folder / LOG_FILE, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                         encoding="utf-8", delay=False)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(process)d] %(message)s"))
            handler.addFilter(_Masked())
            _state["handler"], _state["file"] = handler, folder / LOG_FILE
        except OSError as exc:
            _quiet_failure("cannot write the log file", exc)
            _state["handler"], _state["file"] = logging.NullHandler(), None
        _logger.addHandler(_state["handler"])
        _logger.setLevel(logging.INFO)
    context = "system" if paths.system_context() else "user"
    _logger.info("%s %s started (%s context, data in %s)", TOOL_NAME, __version__, context, paths.data_dir())
    for line in paths.migrate():
        _logger.info("earlier data %s", line)
    for done in paths.protections():
        if done.outcome in ("repaired", "failed", "unconfirmed"):
            _logger.warning("protected folder %s %s: %s", done.path, done.outcome, done.detail)
            if done.outcome == "repaired":
                system_log(f"protected folder {done.path} repaired: {done.detail}", "warning", "protection")
        elif done.outcome == "created":
            _logger.info("protected folder %s created", done.path)
    _logger.info("command: %s", command)
    return _logger


def _close() -> None:
    handler = _state["handler"]
    if handler is not None:
        _logger.removeHandler(handler)
        handler.close()
        _state["handler"] = None


def command_line(argv: list[str]) -> str:
    """What the log says about a command line: the command words (``schedule install``) and the option names, never
    a value (paths, names, URLs with tokens): each is shown as "…"."""
    shown: list[str] = []
    leading = True
    for arg in argv:
        if arg.startswith("-"):
            leading = False
            shown.append(arg.split("=", 1)[0])
        elif leading and len(shown) < 2 and arg.isascii() and arg.isalpha() and arg.islower():
            shown.append(arg)
        else:
            leading = False
            shown.append("…")
    return " ".join(shown)


# --------------------------------------------------------------------------- the system's log

def system_log(line: str, level: str = "info", kind: str = "scan") -> str:
    """Write one line to the system's log. Returns what happened, for the log file and the tests: ``event log``,
    ``event log (Wine: accepted, not stored)``, ``syslog``, or why not."""
    text = mask_pi(line)[:MAX_LINE]
    try:
        if WINDOWS:
            stored = eventlog.report(text, level, EVENT_IDS.get(kind, 1000))
            outcome = "event log" if stored and not winhost.is_wine() else "event log (Wine: accepted, not stored)"
        else:
            outcome = _syslog(text, level)
    except OSError as exc:
        outcome = f"not written ({exc.strerror or exc})"
    return outcome


def _syslog(text: str, level: str) -> str:
    where = os.environ.get(SYSLOG_ENV) or SYSLOG_SOCKET
    if not os.path.exists(where):
        return f"no syslog socket at {where}"
    pri = LOG_USER * 8 + SYSLOG_LEVELS.get(level, 6)
    stamp = dt.datetime.now().strftime("%b %d %H:%M:%S")
    message = f"<{pri}>{stamp} {TOOL_NAME}[{os.getpid()}]: {text}".encode("utf-8", "replace")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        sock.connect(where)
        sock.send(message)
    return "syslog"


# --------------------------------------------------------------------------- what is recorded

def scan_line(report: dict[str, Any], outputs: Iterable[Path | str] = ()) -> tuple[str, str]:
    """(line, level) summing up a finished scan: host, areas, findings by severity, score and grade, where the
    reports went. Warning when a high or critical finding was made."""
    by = (report.get("summary") or {}).get("by_severity") or {}
    total = (report.get("summary") or {}).get("total", 0)
    counts = ", ".join(f"{sev} {by.get(sev, 0)}" for sev in SEVERITIES)
    score = report.get("score") or {}
    host = report.get("host") or {}
    areas = ",".join(score.get("assessed_areas") or []) or "none"
    where = f"; reports: {', '.join(str(o) for o in outputs)}" if outputs else ""
    line = (f"scan finished on {host.get('hostname', '?')}: {total} findings ({counts}); areas {areas}; "
            f"score {score.get('value', '?')} grade {score.get('grade', '?')}{where}")
    level = "warning" if by.get("critical", 0) or by.get("high", 0) else "info"
    return line, level


def scan_finished(report: dict[str, Any], outputs: Iterable[Path | str] = ()) -> str:
    """Record a finished scan in the log file and the system's log; returns how the system log went."""
    line, level = scan_line(report, list(outputs))
    outcome = system_log(line, level, "scan")
    _logger.log(logging.WARNING if level == "warning" else logging.INFO, "%s [system log: %s]", line, outcome)
    return outcome


def alert_line(record: dict[str, Any]) -> str:
    """One line for a watch alert (the event as the events file holds it, already masked)."""
    event = record.get("event", "alert")
    parts = [f"watch alert {event}"]
    for key in ("check_id", "severity", "tool", "name", "pid", "records", "path", "message"):
        if record.get(key) not in (None, ""):
            parts.append(f"{key}={record[key]}")
    return " ".join(str(p) for p in parts)


def watch_alert(record: dict[str, Any]) -> str:
    line = alert_line(record)
    outcome = system_log(line, "warning", "alert")
    _logger.warning("%s [system log: %s]", line, outcome)
    return outcome


def internal_error(exc: BaseException) -> None:
    """An internal error (exit 3): its traceback in the log file, one line in the system's log."""
    outcome = system_log(f"internal error: {type(exc).__name__}: {exc}", "error", "internal_error")
    _logger.error("internal error: %s: %s [system log: %s]", type(exc).__name__, exc, outcome,
                  exc_info=(type(exc), exc, exc.__traceback__))
