"""One scan: host facts, the selected areas, findings and coverage, assembled into a report dict."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core.checks import checks as load_checks
from . import packs
from .adapters.registry import RegistryView
from .allowlist import load_allowlist
from .areas import AREAS, AreaRun, default_areas, load_runner
from .core.context import ScanContext
from .core.factory import FindingFactory
from .hostinfo import host_facts, now_iso, tool_facts
from .leakguard import guard_report
from .core.model import SCHEMA_VERSION
from .textsafe import clean_text
from .core.severity import NAMES, rank


@dataclass
class ScanOptions:
    only: list[str] = field(default_factory=list)
    allowlist: Path | None = None
    root: Path | None = None
    role: str | None = None
    site: str | None = None
    registry: RegistryView | None = None
    today: dt.date | None = None
    # files area (issue #4)
    paths: list[Path] = field(default_factory=list)
    full: bool = False
    max_file_size: int | None = None
    # accounts area (issue #5)
    roster: Path | None = None
    subaccounts: list[Path] = field(default_factory=list)
    logins: list[Path] = field(default_factory=list)
    as_of: dt.date | None = None
    stale_days: int = 90
    column_map: dict[str, str] = field(default_factory=dict)
    account_map: Path | None = None
    # export trail (issue #11)
    days: int = 90
    homes: list[Path] = field(default_factory=list)
    progress: bool = False


def lower_priority() -> None:
    """Be a good guest on an office PC: lowest CPU priority, idle I/O where the OS allows it.
    ``AUDITOR_PRIORITY=normal`` keeps the normal priority (benchmarks, an inspector in a hurry)."""
    if os.environ.get("AUDITOR_PRIORITY", "").lower() == "normal":
        return
    try:
        import psutil

        proc = psutil.Process()
        if sys.platform == "win32":
            proc.nice(psutil.IDLE_PRIORITY_CLASS)
        else:
            os.nice(19 - os.nice(0))
            if hasattr(psutil, "IOPRIO_CLASS_IDLE"):
                proc.ionice(psutil.IOPRIO_CLASS_IDLE)
    except Exception:  # noqa: BLE001 - priority is a courtesy, never a reason to fail
        pass


def _live_registry(opts: ScanOptions) -> RegistryView | None:
    if opts.registry is not None or opts.root is not None or sys.platform != "win32":
        return opts.registry
    from .adapters.winreg_live import LiveRegistry

    return LiveRegistry()


def run_scan(opts: ScanOptions) -> dict[str, Any]:
    started = now_iso()
    catalog = packs.catalog()
    checks = load_checks()
    approvals = load_allowlist(opts.allowlist, catalog) if opts.allowlist else []
    ctx = ScanContext(root=opts.root, role=opts.role, site=opts.site, registry=_live_registry(opts),
                      hostname=socket.gethostname())
    today = opts.today or dt.date.today()
    run = AreaRun(ctx, FindingFactory(checks, opts.role), approvals, today, opts)
    selected = opts.only or default_areas(opts)
    findings = []
    for name in AREAS:  # fixed order: later areas may use what earlier ones found (run.shared)
        if name not in selected:
            continue
        runner = load_runner(name)
        if runner is None:
            cov = ctx.coverage.source(name, name)
            cov.status, cov.note = "not_assessed", f"not available in this version ({AREAS[name].what})"
            continue
        findings.extend(runner(run))
    findings.sort(key=lambda f: (-rank(f.severity), f.check_id, f.target.ref))
    report = {
        "schema_version": SCHEMA_VERSION,
        "tool": tool_facts(),
        "host": host_facts(opts.root, opts.role, opts.site),
        "started_at": started,
        "finished_at": now_iso(),
        "scope": {"areas": selected, "root": str(opts.root) if opts.root else None,
                  "catalog_tools": len(catalog), "checks": len(checks)},
        "allowlist": [a.to_dict(today) for a in approvals],
        "summary": summarize(findings),
        "findings": [f.to_dict() for f in findings],
        "coverage": ctx.coverage.to_list(),
    }
    report.update(run.shared.get("report_sections", {}))
    # undecodable file-name bytes as \xNN (every writer needs valid UTF-8); no raw mobile or ID number anywhere
    return guard_report(clean_text(report))


def summarize(findings) -> dict[str, Any]:
    by_sev: dict[str, int] = {s: 0 for s in NAMES}
    by_area: dict[str, int] = {}
    for f in findings:
        by_sev[f.severity] += 1
        by_area[f.area] = by_area.get(f.area, 0) + 1
    return {"total": len(findings), "by_severity": by_sev, "by_area": by_area}
