"""One scheduled run: a dated JSON + HTML report in the output folder, compared with the previous report,
then only the newest N kept. What `auditor schedule run-now` does (and what the scheduler starts)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..durable import private_dir
from ..errors import UsageError
from ..fsutil import write_private

REPORT_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}_\d{6})(?:_(\d+))?\.(json|html)$")
LAST_RUN = "last-run.json"
LOCK = ".schedule.lock"


@dataclass
class RunResult:
    code: int
    json_path: Path | None = None
    html_path: Path | None = None
    baseline: Path | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    pruned: list[str] = field(default_factory=list)
    message: str = ""


def report_stems(folder: Path) -> list[str]:
    """Stems of our dated reports, oldest first (the names sort by time)."""
    stems = set()
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    for name in names:
        m = REPORT_RE.match(name)
        if m:
            stems.add(name.rsplit(".", 1)[0])
    return sorted(stems, key=_stem_key)


def _stem_key(stem: str) -> tuple[str, int]:
    suffix = stem[18:]  # 2026-11-30_020000_2: a second run in the same second
    return (stem[:17], int(suffix) if suffix.isdigit() else 0)


def previous_report(folder: Path) -> Path | None:
    """The newest intact JSON report in the folder (an altered or unreadable one is passed over)."""
    from ..integrity import check

    for stem in reversed(report_stems(folder)):
        path = folder / f"{stem}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "findings" in data and not check(data):
            return path
    return None


def prune(folder: Path, keep: int) -> list[str]:
    stems = report_stems(folder)
    gone = []
    for stem in stems[: max(0, len(stems) - keep)]:
        for ext in (".json", ".html"):
            try:
                (folder / f"{stem}{ext}").unlink()
                gone.append(f"{stem}{ext}")
            except FileNotFoundError:
                pass
    return gone


class _Lock:
    """One run at a time per output folder (cron does not prevent overlaps). A lock left by a dead process
    is taken over."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK
        self.held = False

    def __enter__(self) -> "_Lock":
        import psutil

        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or "0")
                except (OSError, ValueError):
                    pid = 0
                if pid and psutil.pid_exists(pid) and pid != os.getpid():
                    raise UsageError(f"another scheduled run (pid {pid}) is writing to {self.path.parent}") from None
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            self.held = True
            return self
        raise UsageError(f"cannot take the lock {self.path}")

    def __exit__(self, *exc) -> None:
        if self.held:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass


def run_scheduled(output_dir: Path, keep: int, scan_args: list[str], now: dt.datetime | None = None,
                  quiet: bool = False) -> RunResult:
    from ..cli import main as cli_main
    from ..severity import at_least

    if keep < 1:
        raise UsageError("--keep must be at least 1")
    folder = private_dir(Path(output_dir))
    with _Lock(folder):
        now = (now or dt.datetime.now()).astimezone()
        stem = now.strftime("%Y-%m-%d_%H%M%S")
        n = 1
        while (folder / f"{stem}.json").exists() or (folder / f"{stem}.html").exists():
            n += 1
            stem = f"{now.strftime('%Y-%m-%d_%H%M%S')}_{n}"
        json_path, html_path = folder / f"{stem}.json", folder / f"{stem}.html"
        baseline = previous_report(folder)
        argv = ["scan", "-q", "--fail-on", "none", "-o", str(json_path), "-o", str(html_path), *scan_args]
        code = cli_main([*argv, *(["--baseline", str(baseline)] if baseline else [])])
        if code == 2 and baseline is not None and not json_path.exists():
            baseline = None  # a baseline this version cannot read: scan without comparison rather than not at all
            code = cli_main(argv)
        result = RunResult(code, baseline=baseline)
        if code not in (0, 1) or not json_path.exists():
            result.message = f"scan failed (exit {code}); previous reports kept"
            _write_last(folder, now, result)
            return result
        result.json_path, result.html_path = json_path, html_path
        report = json.loads(json_path.read_text(encoding="utf-8"))
        changes = report.get("changes") or {}
        sev = {f["id"]: f["severity"] for f in report.get("findings", [])}
        new = changes.get("new", list(sev) if baseline is None else [])
        result.changes = {
            "compared_with": baseline.name if baseline else None,
            "findings": len(sev),
            "new": len(new),
            "new_high": sum(1 for fid in new if at_least(sev.get(fid, "info"), "high")),
            "still_open": len(changes.get("still_open", [])),
            "resolved": len(changes.get("resolved", [])),
        }
        result.pruned = prune(folder, keep)
        result.code = 1 if baseline is not None and result.changes["new_high"] else 0
        c = result.changes
        result.message = (f"report {json_path.name} (+ .html): {c['findings']} findings"
                          + (f"; since {baseline.name}: {c['new']} new ({c['new_high']} high or critical), "
                             f"{c['still_open']} still open, {c['resolved']} resolved" if baseline else
                             "; no previous report to compare with")
                          + (f"; pruned {len(result.pruned)} old files" if result.pruned else ""))
        _write_last(folder, now, result)
        return result


def _write_last(folder: Path, when: dt.datetime, result: RunResult) -> None:
    data = {"at": when.isoformat(timespec="seconds"), "exit_code": result.code, "message": result.message,
            "report": result.json_path.name if result.json_path else None,
            "html": result.html_path.name if result.html_path else None,
            "baseline": result.baseline.name if result.baseline else None, "changes": result.changes,
            "pruned": result.pruned}
    write_private(folder / LAST_RUN, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
