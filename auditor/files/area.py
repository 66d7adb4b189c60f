"""The files area: walk the export roots, judge every table, report files holding people's records."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from ..areas import AreaRun
from ..core.model import Finding, Target
from .file_scan import FileScanner, Limits
from .roots import default_roots, skip_set
from .rules import PiiRules, load_rules
from . import locator
from .state import FileState
from .textpath import display_path, label_name
from .walk import Candidate, dedupe_roots, resolve_root, walk

AREA = "files"


def _owner(uid: int | None, path: Path | None = None) -> str | None:
    if uid is None:
        if path is not None and sys.platform == "win32":
            try:
                from ..adapters.winacl import file_owner

                return file_owner(path)
            except (OSError, AttributeError, ValueError):
                return None
        return None
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def norm_key(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def is_finding(summary: dict[str, Any], rules: PiiRules) -> bool:
    return summary["id_rows"] > 0 or summary["records"] >= rules.min_records


class FilesArea:
    def __init__(self, run: AreaRun) -> None:
        self.run = run
        self.rules = load_rules()
        limits = Limits()
        if run.opts.max_file_size:
            limits.max_file_size = run.opts.max_file_size
        self.scanner = FileScanner(self.rules, limits)
        self.findings: list[Finding] = []
        self.verdicts: dict[str, dict[str, Any]] = {}
        self.total_records = 0
        self.scanned = self.reused = 0

    def roots(self) -> list[tuple[Path, str]]:
        if self.run.opts.paths:
            return [(Path(p), "given with --path") for p in self.run.opts.paths]
        return default_roots(self.run.ctx)

    def execute(self) -> list[Finding]:
        ctx = self.run.ctx
        roots = self.roots()
        why = {resolve_root(r, ctx.tree): w for r, w in roots}
        unique = dedupe_roots([r for r, _ in roots], ctx.tree)
        scan_cov = ctx.coverage.source(AREA, "files:content")
        if not unique:
            scan_cov.status, scan_cov.note = "no_data", "no export folders found on this PC"
        state = FileState()
        skip_rel, skip_names = skip_set(ctx)
        progress = _Progress(self.run.opts.progress)
        root_covs = []
        try:
            for root in unique:
                root_cov = ctx.coverage.source(AREA, f"root:{display_path(root)}")
                root_covs.append(root_cov)
                root_cov.note = why.get(root, "")
                for cand in walk(root, skip_rel, skip_names, root_cov, ctx.tree):
                    root_cov.examined += 1
                    state.seen(cand.path, root)
                    summaries = None if self.run.opts.full else state.lookup(
                        cand.path, cand.size, cand.mtime_ns, cand.inode)
                    if summaries is None:
                        summaries = [o.summary() | {"member": member_of(cand.path, o.target), "size": o.size}
                                     for o in self.scanner.scan(cand.path, cand.open)]
                        # the state keeps counts and hashes only: no samples (even masked ones), no names
                        state.store(cand.path, root, cand.size, cand.mtime_ns, cand.inode,
                                    [{k: v for k, v in x.items() if k not in ("samples", "target")}
                                     for x in summaries])
                        self.scanned += 1
                        fresh = True
                    else:
                        self.reused += 1
                        fresh = False
                    for s in summaries:
                        self._judge(cand, s, fresh, scan_cov)
                    progress.advance(cand.size, len(self.findings))
                if not root_cov.examined and any(x["item"] == display_path(root) for x in root_cov.skipped):
                    root_cov.status = "failed"  # the root itself could not be listed: nothing under it was read
            state.drop_missing(unique)
        finally:
            state.close()
            progress.stop()
        scan_cov.examined = self.scanned + self.reused
        scan_cov.note = (f"{self.scanned} files read, {self.reused} unchanged since the last scan "
                         f"(incremental state{'; ignored with --full' if self.run.opts.full else ''})")
        if root_covs and all(c.status == "failed" for c in root_covs):
            scan_cov.status = "failed"  # no folder could be read: nothing was assessed, whatever it holds
            scan_cov.note = "no export folder could be read (see the roots); " + scan_cov.note
        self.run.shared["files.verdicts"] = self.verdicts
        self.run.shared.setdefault("report_sections", {})["files_summary"] = {
            "unmasked_records": self.total_records,
            "files_with_findings": len(self.findings),
            "spc_thresholds": {"sensitive_items": self.rules.spc_sensitive, "other_items": self.rules.spc_other},
            "over_sensitive_threshold": self.total_records >= self.rules.spc_sensitive,
            "over_other_threshold": self.total_records >= self.rules.spc_other,
            "roots": [display_path(r) for r in unique],
        }
        return self.findings

    def _judge(self, cand: Candidate, s: dict[str, Any], fresh: bool, cov) -> None:
        member = str(s.get("member") or "")
        target = display_path(cand.path) + member
        if s.get("skipped"):
            cov.skip(target, s["skipped"])
            return
        if s.get("truncated"):
            cov.partly(target, "; ".join(s["truncated"]))
        finding = is_finding(s, self.rules)
        verdict = {"finding_id": None, "check_id": None, "records": s["records"], "masked_share": s["masked_share"],
                   "id_rows": s["id_rows"]}
        if finding:
            f = self._finding(cand, s, target, member, fresh)
            self.findings.append(f)
            self.total_records += s["records"]
            verdict.update(finding_id=f.fingerprint, check_id=f.check_id)
        # keyed by the real path (other areas look files up by the path they know), never shown
        self.verdicts[norm_key(str(cand.path)) + member] = verdict

    def _finding(self, cand: Candidate, s: dict[str, Any], target: str, member: str, fresh: bool) -> Finding:
        name = label_name(target)
        evidence: dict[str, Any] = {
            "path": target, "records": s["records"], "id_number_rows": s["id_rows"], "total_rows": s["total_rows"],
            "masked_rows": s["masked_rows"], "masked_share": s["masked_share"], "kinds": s["kinds"],
            "sheets": s["sheets"], "samples": s.get("samples", []), "sha256": s.get("sha256"),
            "size": s.get("size", cand.size), "encoding": s.get("encoding"),
            "mtime": dt.datetime.fromtimestamp(cand.mtime_ns / 1e9).astimezone().isoformat(timespec="seconds"),
            "owner": _owner(cand.uid, cand.path),
        }
        if s.get("truncated"):
            evidence["truncated"] = s["truncated"]  # what the reading bounds cut (README: Bounds)
        if not fresh:
            evidence["from_incremental_state"] = True
        if not evidence["sha256"] and not member:
            from ..collectors.pe_info import sha256_file

            evidence["sha256"] = sha256_file(str(cand.path), limit=1 << 40)
        evidence["locator"] = locator.make(cand.path, member=bool(member), size=cand.size,
                                           sha256=evidence["sha256"])
        params = {"name": name, "records": s["records"]}
        t = Target("file", target, name)
        if s["id_rows"] > 0:
            return self.run.factory.make("PI-002", t, evidence, params)
        return self.run.factory.make("PI-001", t, evidence, params,
                                     conditions={"many_records": s["records"] >= self.rules.critical_records})


def member_of(path: Path, target: str) -> str:
    """The part of an outcome's target after the file's own shown path: ``!member`` inside an archive, else ""."""
    for prefix in (display_path(path), str(path)):
        if target.startswith(prefix):
            return display_path(target[len(prefix):]) if target != prefix else ""
    return ""


class _Progress:
    """A rich progress line (files, bytes, findings) on an interactive terminal; nothing otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import Progress, TextColumn

            self.bar = Progress(TextColumn("{task.description}"), console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task("")
            self.bar.start()
            self.files = self.bytes = 0

    def advance(self, size: int, findings: int) -> None:
        if self.bar is None:
            return
        self.files += 1
        self.bytes += size
        self.bar.update(self.task, description=f"files {self.files}  {self.bytes / 1e6:.1f} MB  findings {findings}")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run(run: AreaRun) -> list[Finding]:
    return FilesArea(run).execute()
