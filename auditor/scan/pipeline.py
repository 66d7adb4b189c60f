"""The one pipeline under every command that scans: ``run`` (collect and judge the selected areas into a report),
``finish`` (duties, score, changes since a baseline), ``seal`` (digest and signature), ``write`` (every output
format) and ``record`` (a line in the agent's log and the system's log: event log or syslog). ``scan``, ``inspect``, ``report`` and the scheduled run call these in process."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
from pathlib import Path
from typing import Any, Iterable

import psutil

from .. import agentlog, packs, render, safeio
from ..adapters.hives import HiveRegistry
from ..adapters.regfile import MAX_EXPORT, RegFile
from ..adapters.registry import RegistryView
from ..adapters.winreg_live import LiveRegistry
from ..allowlist import load_allowlist
from ..compliance import finish_report
from ..core.area import JudgeContext
from ..core.checks import checks as load_checks
from ..core.context import ScanContext
from ..core.factory import FindingFactory
from ..core.handover import Handover
from ..core.model import SCHEMA_VERSION, Finding
from ..core.options import ScanOptions
from ..core.severity import NAMES, rank
from ..errors import UsageError
from ..hostinfo import host_facts, now_iso, tool_facts
from ..integrity import seal as seal_report
from ..leakguard import guard_report
from ..messages import os_error
from .registry import AREAS, area, default_areas, provider


def lower_priority() -> None:
    """Be a good guest on an office PC: lowest CPU priority, idle I/O where the OS allows it.
    ``AUDITOR_PRIORITY=normal`` keeps the normal priority (benchmarks, an inspector in a hurry)."""
    if os.environ.get("AUDITOR_PRIORITY", "").lower() == "normal":
        return
    try:
        proc = psutil.Process()
        if sys.platform == "win32":
            proc.nice(psutil.IDLE_PRIORITY_CLASS)
        else:
            os.nice(19 - os.nice(0))
            if hasattr(psutil, "IOPRIO_CLASS_IDLE"):
                proc.ionice(psutil.IOPRIO_CLASS_IDLE)
    except Exception:  # noqa: BLE001 - priority is a courtesy, never a reason to fail
        pass


def registry_view(opts: ScanOptions, ctx: ScanContext) -> RegistryView | None:
    """The Windows registry the scan reads: given directly, regedit exports (``--registry-export``), the live
    registry of a live Windows scan, or the hive files of an offline Windows tree (``--root``)."""
    if opts.registry is not None:
        return opts.registry
    if opts.registry_exports:
        return read_registry_exports(opts.registry_exports)
    if opts.root is None:
        return LiveRegistry() if sys.platform == "win32" else None
    return HiveRegistry(ctx.tree, ctx.win_path) if ctx.windows else None


HIVE_READERS = ("remote", "accounts", "trail")  # the areas that read the registry, in the order they name the hives


def record_hives(ctx: ScanContext, selected: list[str]) -> None:
    """The hive files of an offline tree in the coverage: each one with what became of it (read, missing,
    unreadable, too large, not a hive, not needed), and the damaged keys and values skipped. Recorded under the
    first selected area that reads the registry; closes the hive files."""
    reg = ctx.registry
    if not isinstance(reg, HiveRegistry):
        return
    reg.close()
    area_name = next((a for a in HIVE_READERS if a in selected), None)
    if area_name is None:
        return
    cov = ctx.coverage.source(area_name, "registry:hives")
    hives = reg.read_hives()
    read = [h for h in hives if h.status == "read"]
    cov.examined = len(read)
    for h in hives:
        if h.status not in ("read", "not_read"):
            cov.skip(h.path, f"{h.status}: {h.reason}" if h.reason else h.status)
    for where, reason in reg.damaged:
        cov.skip(where, reason)
    cov.skipped_more += reg.damaged_not_listed
    cov.note = "hive files read: " + (", ".join(
        f"{h.path} ({h.mounted_at}{'; not closed cleanly, logs not applied' if h.dirty else ''})" for h in read)
        or "none")
    if not read:
        cov.status = "failed" if any(h.status != "not_read" for h in hives) else "no_data"
    elif cov.skipped or cov.skipped_more:
        cov.status = "partial"


def read_registry_exports(paths: Iterable[Path]) -> RegFile:
    """The regedit exports given, each read as a regular file of at most ``MAX_EXPORT`` bytes (a FIFO or a
    user's link is one clear message), as one view."""
    return RegFile.from_exports((Path(p).name, safeio.read_input(p, "--registry-export", max_size=MAX_EXPORT))
                                for p in paths)


def selected_areas(opts: ScanOptions) -> list[str]:
    """The areas of this scan, in the order given (unknown names are a usage error)."""
    for name in opts.only:
        area(name)
    return list(opts.only) or default_areas()


def run(opts: ScanOptions) -> dict[str, Any]:
    """Collect and judge the selected areas: the report before compliance and sealing."""
    started = now_iso()
    catalog = packs.catalog()
    checks = load_checks()
    selected = selected_areas(opts)
    today = opts.today or dt.date.today()
    approvals = load_allowlist(opts.allowlist, catalog) if opts.allowlist else []
    ctx = ScanContext(root=opts.root, role=opts.role, site=opts.site, hostname=socket.gethostname(), today=today)
    ctx.registry = registry_view(opts, ctx)
    factory = FindingFactory(checks, opts.role)
    handover = Handover()
    sections: dict[str, Any] = {}
    findings: list[Finding] = []
    for a in AREAS:  # the registry's order: an area's needs are provided before it runs
        if a.name not in selected:
            continue
        for kind in a.needs:
            source = provider(kind)
            if not handover.has(kind) and source.supply is not None:
                source.supply(ctx, opts, handover)
        facts = a.collect(ctx, opts, handover)
        jc = JudgeContext(factory, opts, handover, approvals, today, ctx.hostname, opts.role, ctx.coverage, sections)
        findings += a.judge(facts, jc)
        unknown = set(sections) - {s for x in AREAS for s in x.sections}
        if unknown:
            raise RuntimeError(f"area {a.name} wrote report sections it does not declare: {sorted(unknown)}")
    record_hives(ctx, selected)
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
        "findings": [],
        "coverage": ctx.coverage.to_list(),
    }
    report.update(sections)
    # undecodable file-name bytes as \xNN (every writer needs valid UTF-8); no raw mobile or ID number anywhere:
    # the findings are cleaned and checked as each is serialised (Finding.to_dict), the rest here
    report = guard_report(report)
    report["findings"] = [f.to_dict() for f in findings]
    return report


def summarize(findings: list[Finding]) -> dict[str, Any]:
    by_sev: dict[str, int] = {s: 0 for s in NAMES}
    by_area: dict[str, int] = {}
    for f in findings:
        by_sev[f.severity] += 1
        by_area[f.area] = by_area.get(f.area, 0) + 1
    return {"total": len(findings), "by_severity": by_sev, "by_area": by_area}


def finish(report: dict[str, Any], baseline: Path | str | dict | None = None,
           first_report: bool = False, scanned: bool = False) -> dict[str, Any]:
    """Judge the report: areas, duties, score, accepted risks, clauses, and the changes since ``baseline`` (or,
    with ``first_report``, that this host has no report before this one). ``scanned``: the report is what
    :func:`run` returned in this process (its findings already checked for personal data, one by one)."""
    return finish_report(report, baseline=baseline, first_report=first_report, findings_guarded=scanned)


def seal(report: dict[str, Any], key: bytes | None = None) -> dict[str, Any]:
    return seal_report(report, key)


def check_outputs(outputs: list[Path]) -> None:
    """Every output's format is known: unknown formats fail before the scan, not after it."""
    for out in outputs:
        render.renderer_for(out)


def write(report: dict[str, Any], outputs: list[Path], lang: str) -> None:
    for out in outputs:
        try:
            render.write(report, out, lang)
        except OSError as exc:
            raise UsageError("usage.cannot_write_output", path=out, why=os_error(exc)) from None


def record(report: dict[str, Any], outputs: list[Path]) -> None:
    """A finished scan's one-line summary (counts, score, where the reports went; no personal data) in the agent's
    log file and the system's log."""
    agentlog.scan_finished(report, outputs)
