"""One scheduled run: a dated JSON + HTML report in the output folder, compared with this PC's previous report,
then only this PC's newest N kept. What `auditor schedule run-now` does (and what the scheduler starts): the scan
runs in this process, through the same pipeline as `auditor scan` (auditor.scan.pipeline).

Several PCs of a site may share one output folder (a NAS share), and whoever can write there can plant files:

* report names carry the host, ``2026-11-30_123000_WH-01.json`` (a second run in the same second:
  ``…_WH-01_2.json``), so they sort in time order and say whose they are; the host part is the host name
  reduced to letters, digits, ``-`` and ``.`` (with a short hash of the exact name when that changed it);
* the baseline is the newest intact report whose name *and* content (``host.hostname``) are this PC's; reports
  named the way older versions did (``2026-11-30_123000.json``) still count, by their content;
* ``--keep N`` counts and prunes this PC's reports only, and deletes a report only after reading it and finding
  this PC's host name in it: other PCs' reports, unrelated files, links and anything unreadable are never
  touched, nor is the report this run just wrote;
* the folder is read through a descriptor (safeio.OpenDir): regular files only, no link followed, nothing larger
  than ``MAX_REPORT`` read, a FIFO never waited on; the baseline the scan compares with is the very bytes that
  were checked (a private copy), not whatever the name points to a moment later;
* the lock and this PC's own last-run record are per host (``.schedule.<host>.lock``,
  ``.last-run.<host>``); ``last-run.json`` still records the folder's last run, with its host.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from .. import agentlog, safeio
from ..core.options import ScanOptions
from ..core.severity import NAMES as SEVERITIES, at_least
from ..durable import write_bytes
from ..errors import UsageError
from ..messages import Text, Worded, os_error
from ..paths import LAST_RUN, prepare
from ..scan import pipeline
from ..terminal import echo
from .folder import MAX_REPORT, Folder, Reports, host_tag, last_run_name, this_host



@dataclass
class RunResult:
    code: int
    json_path: Path | None = None
    html_path: Path | None = None
    baseline: Path | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    pruned: list[str] = field(default_factory=list)
    message: Text = field(default_factory=lambda: Text(""))  # the result line: English as a str (last-run.json),
    # .text(lang) on the terminal
    first_run: bool = False  # no intact report of this PC before: every finding counts as new


class _Lock:
    """One run at a time per host and output folder (cron does not prevent overlaps). A lock left by a dead
    process of this host is taken over; other PCs have locks of their own."""

    def __init__(self, folder: Folder, hostname: str) -> None:
        self.folder = folder
        self.name = f".schedule.{host_tag(hostname)}.lock"
        self.held = False

    def __enter__(self) -> "_Lock":
        for _ in range(2):
            if self.folder.create_exclusive(self.name, str(os.getpid()).encode()):
                self.held = True
                return self
            entry = self.folder.entries().get(self.name)
            data = self.folder.read(entry, max_size=64) if entry else None
            text = data.decode("ascii", "replace").strip() if data else ""
            pid = int(text) if text.isascii() and text.isdigit() else 0
            if pid and psutil.pid_exists(pid) and pid != os.getpid():
                raise UsageError("usage.schedule.busy", pid=pid, path=self.folder.path)
            self.folder.unlink(self.name)
        raise UsageError("usage.schedule.cannot_lock", lock=self.folder.path / self.name)

    def __exit__(self, *exc) -> None:
        if self.held:
            self.folder.unlink(self.name)


def _scan(opts: ScanOptions, key: bytes | None, outputs: list[Path], baseline: Path | None, lang: str,
          first: bool = False) -> int:
    """The scan of a scheduled run, written to ``outputs``: 0, or 2 (a usage error: the message is printed) or 3
    (an internal error) as `auditor scan` would exit. ``first``: this PC has no report before (the report says
    so)."""
    try:
        pipeline.lower_priority()
        report = pipeline.run(opts)
        pipeline.finish(report, baseline=baseline, first_report=first, scanned=True)
        pipeline.seal(report, key)
        pipeline.write(report, outputs, lang)
        pipeline.record(report, outputs)
    except UsageError as exc:
        echo(f"auditor: {exc.text(lang)}", err=True)
        return 2
    except Exception as exc:  # noqa: BLE001 - one failed run is recorded; the previous reports stay
        agentlog.internal_error(exc)
        echo(f"auditor: {Text('cli.internal_error', kind=type(exc).__name__, exc=exc).text(lang)}", err=True)
        return 3
    return 0


def run_scheduled(output_dir: Path, keep: int, opts: ScanOptions, key: bytes | None = None,
                  now: dt.datetime | None = None, lang: str = "zh") -> RunResult:
    """One scheduled run into ``output_dir``; its HTML report in ``lang`` (the result line is a Text: every
    language)."""
    if keep < 1:
        raise UsageError("usage.schedule.bad_keep")
    hostname = this_host()
    path = Path(output_dir)
    try:
        folder = Folder(prepare(path))
    except OSError as exc:
        raise UsageError("usage.schedule.bad_output_dir", path=path, why=Worded(safeio.reason_of(exc))) from None
    with folder, _Lock(folder, hostname), tempfile.TemporaryDirectory(prefix="auditor-run-") as tmp:
        now = (now or dt.datetime.now()).astimezone()
        reports = Reports.scan(folder, hostname)
        stem = reports.new_stem(now)
        json_path, html_path = path / f"{stem}.json", path / f"{stem}.html"
        previous = reports.previous()
        baseline = path / f"{previous[0]}.json" if previous else None
        outputs = [json_path, html_path]
        copy = None
        if previous:
            copy = Path(tmp) / "baseline.json"  # the bytes checked above, not what the name points to now
            write_bytes(copy, previous[1])
        code = _scan(opts, key, outputs, copy, lang, first=previous is None)
        written = Reports.scan(folder, hostname)
        unreadable = None
        if code == 2 and baseline is not None and stem not in written.jsons:
            unreadable, baseline = baseline, None  # this version cannot read it: scan without comparison
            code = _scan(opts, key, outputs, None, lang)
            written = Reports.scan(folder, hostname)
        result = RunResult(code, baseline=baseline, first_run=previous is None)
        if code not in (0, 1) or stem not in written.jsons:
            result.message = Text("schedule.failed", code=code)
            _write_last(folder, hostname, now, result, lang)
            return result
        result.json_path, result.html_path = json_path, html_path
        loaded = written.load(stem)
        result.changes = _changes(loaded[0] if loaded else {}, baseline)
        result.pruned = written.prune(keep, stem)
        c = result.changes
        # with no previous report of this PC (the first run) every finding is new since the previous report
        result.code = 1 if c["new_high"] else 0
        result.message = Text(
            "schedule.done", report=json_path.name, findings=c["findings"],
            compared=Text("schedule.since", baseline=baseline.name, **c) if baseline else
            Text("schedule.no_baseline", why=_no_baseline(unreadable), **c),
            unread="" if loaded else Text("schedule.unread", mib=MAX_REPORT >> 20),
            pruned=Text("schedule.pruned", count=len(result.pruned)) if result.pruned else "")
        _write_last(folder, hostname, now, result, lang)
        return result


def _no_baseline(unreadable: Path | None) -> Text:
    if unreadable is None:
        return Text("schedule.first_run")
    return Text("schedule.unreadable_baseline", name=unreadable.name)


def _changes(report: dict[str, Any], baseline: Path | None) -> dict[str, Any]:
    """The counts of ``changes`` in the report just written (read back from a folder others can write: every
    field checked, nothing trusted to have the right type)."""
    findings = report.get("findings") if isinstance(report.get("findings"), list) else []
    sev = {f.get("id"): f.get("severity") for f in findings if isinstance(f, dict) and isinstance(f.get("id"), str)}
    changes = report.get("changes") if isinstance(report.get("changes"), dict) else {}

    def ids(key: str, default: list) -> list:
        value = changes.get(key, default)
        return value if isinstance(value, list) else []

    new = ids("new", list(sev) if baseline is None else [])
    return {
        "compared_with": baseline.name if baseline else None,
        "findings": len(sev),
        "new": len(new),
        "new_high": sum(1 for fid in new if isinstance(fid, str) and sev.get(fid) in SEVERITIES
                        and at_least(sev[fid], "high")),
        "still_open": len(ids("still_open", [])),
        "resolved": len(ids("resolved", [])),
    }


def _write_last(folder: Folder, hostname: str, when: dt.datetime, result: RunResult, lang: str) -> None:
    data = {"at": when.isoformat(timespec="seconds"), "host": hostname, "exit_code": result.code,
            "message": result.message,
            "report": result.json_path.name if result.json_path else None,
            "html": result.html_path.name if result.html_path else None,
            "baseline": result.baseline.name if result.baseline else None,
            "first_run": result.first_run, "changes": result.changes,
            "pruned": result.pruned}
    body = (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    for name in (last_run_name(hostname), LAST_RUN):
        try:
            write_bytes(folder.path / name, body)
        except OSError as exc:  # the report itself is written; only the record of the run is missing
            echo("auditor schedule: " + Text("schedule.cannot_record_run", path=folder.path / name,
                                             why=os_error(exc)).text(lang), err=True)
