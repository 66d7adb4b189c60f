"""The files collector: walk the export roots, read every table file (or take its counts from the incremental
state when it has not changed) and state what each table holds. All of the area's I/O happens here; what is a
finding is the judge's (``auditor.files.judge``)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Callable

from .. import safeio
from ..core.context import ScanContext
from ..core.handover import Handover
from ..core.model import SourceCoverage
from ..durable import sha256_stream
from .formats import Limits
from .parallel import ParallelReads, default_jobs
from .roots import scan_roots, skip_set
from ..pii.rules import load_rules
from .state import FileState
from .textpath import display_path
from .walk import Candidate, dedupe_roots, resolve_root, walk

if sys.platform == "win32":
    from ..winacl import file_owner
else:
    import pwd

AREA = "files"


@dataclass
class TableFact:
    """One table file, or one member of an archive, as read."""

    path: Path  # the file on disk (never shown)
    member: str  # "!member" (shown) for a member of an archive, else ""
    size: int  # bytes of the file, or of the member
    mtime_ns: int
    owner: str | None
    summary: dict[str, Any]  # counts, kinds, masked samples, SHA-256 (auditor.files.file_scan.Outcome.summary)
    fresh: bool = True  # read now; False: counts from the incremental state

    @property
    def shown(self) -> str:
        return display_path(self.path) + self.member


@dataclass
class FilesFacts:
    tables: list[TableFact] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)


def collect(ctx: ScanContext, opts, handover: Handover) -> FilesFacts:
    roots = scan_roots(ctx, opts.paths)
    why = {resolve_root(r, ctx.tree): w for r, w in roots}
    unique = dedupe_roots([r for r, _ in roots], ctx.tree)
    facts = FilesFacts(roots=unique)
    scan_cov = ctx.coverage.source(AREA, "files:content")
    if not unique:
        scan_cov.status, scan_cov.note = "no_data", "no export folders found on this PC"
    reader = TableReader(opts.max_file_size)
    reads = ParallelReads(reader, partial(TableReader, opts.max_file_size), opts.jobs or default_jobs(), ctx.tree)
    state = FileState()
    skip_rel, skip_names = skip_set(ctx)
    progress = _Progress(opts.progress)
    root_covs = []
    counts = {"scanned": 0, "reused": 0, "with_records": 0}

    def finish(wait: bool = False) -> None:
        """Take the files read so far, in walk order: into the state, the facts and the coverage."""
        for (cand, root, summaries), read in reads.ready(wait):
            if read is not None:
                summaries = read
                # the state keeps counts and hashes only: no samples (even masked ones), no names
                state.store(cand.path, root, cand.size, cand.mtime_ns, cand.inode,
                            [{k: v for k, v in x.items() if k not in ("samples", "target")} for x in summaries])
                counts["scanned"] += 1
            else:
                counts["reused"] += 1
            tables = reader.tables(cand, summaries, read is not None, scan_cov)
            facts.tables += tables
            counts["with_records"] += sum(1 for t in tables if t.summary["records"] or t.summary["id_rows"])
            progress.advance(cand.size, counts["with_records"])

    try:
        for root in unique:
            root_cov = ctx.coverage.source(AREA, f"root:{display_path(root)}")
            root_covs.append(root_cov)
            root_cov.note = why.get(root, "")
            for cand in walk(root, skip_rel, skip_names, root_cov, ctx.tree):
                root_cov.examined += 1
                state.seen(cand.path, root)
                summaries = None if opts.full else state.lookup(cand.path, cand.size, cand.mtime_ns, cand.inode)
                reads.add((cand, root, summaries), cand if summaries is None else None)
                finish()
            if not root_cov.examined and any(x["item"] == display_path(root) for x in root_cov.skipped):
                root_cov.status = "failed"  # the root itself could not be listed: nothing under it was read
        finish(wait=True)
        state.drop_missing(unique)
    finally:
        reads.close()
        state.close()
        progress.stop()
    scanned, reused = counts["scanned"], counts["reused"]
    scan_cov.examined = scanned + reused
    scan_cov.note = (f"{scanned} files read, {reused} unchanged since the last scan "
                     f"(incremental state{'; ignored with --full' if opts.full else ''})")
    if root_covs and all(c.status == "failed" for c in root_covs):
        scan_cov.status = "failed"  # no folder could be read: nothing was assessed, whatever it holds
        scan_cov.note = "no export folder could be read (see the roots); " + scan_cov.note
    return facts


class TableReader:
    """Reads table files into TableFacts: the one reader of the scan and of ``watch``."""

    def __init__(self, max_file_size: int | None = None) -> None:
        self.limits = Limits()
        if max_file_size:
            self.limits.max_file_size = max_file_size
        self._scanner = None

    @property
    def scanner(self):
        """The file scanner, made when the first file is read (an unchanged rescan reads none)."""
        if self._scanner is None:
            from .kernel.scanner import KernelScanner  # deferred: numpy, only when files are read

            self._scanner = KernelScanner(load_rules(), self.limits)
        return self._scanner

    def summaries(self, path: Path, opener: Callable[..., BinaryIO] | None = None,
                  tree: safeio.Tree = safeio.LIVE) -> list[dict[str, Any]]:
        """One summary per table of the file (each member of an archive), with its member name and size."""
        return [o.summary() | {"member": member_of(path, o.target), "size": o.size}
                for o in self.scanner.scan(path, opener, tree)]

    def tables(self, cand: Candidate, summaries: list[dict[str, Any]], fresh: bool,
               cov: SourceCoverage | Any) -> list[TableFact]:
        """The tables of one file; what could not be read, or only in part, goes to ``cov`` with the reason."""
        out = []
        for s in summaries:
            member = str(s.get("member") or "")
            if s.get("skipped"):
                cov.skip(display_path(cand.path) + member, s["skipped"])
                continue
            if s.get("truncated"):
                cov.partly(display_path(cand.path) + member, "; ".join(s["truncated"]))
            holds_people = bool(s["records"] or s["id_rows"])
            if holds_people and not s.get("sha256") and not member:
                s = {**s, "sha256": _sha256(cand)}
            out.append(TableFact(cand.path, member, s.get("size", cand.size), cand.mtime_ns,
                                 owner_of(cand.uid, cand.path) if holds_people else None, s, fresh))
        return out

    def read(self, path: Path, cov: SourceCoverage | Any) -> list[TableFact]:
        """The tables of one file named by its path (``watch``), opened through auditor.safeio."""
        try:
            st = os.stat(path)
        except OSError:
            return []
        cand = Candidate(path, st.st_size, st.st_mtime_ns, st.st_ino, None if sys.platform == "win32" else st.st_uid)
        return self.tables(cand, self.summaries(path), True, cov)


def member_of(path: Path, target: str) -> str:
    """The part of an outcome's target after the file's own shown path: ``!member`` inside an archive, else ""."""
    for prefix in (display_path(path), str(path)):
        if target.startswith(prefix):
            return display_path(target[len(prefix):]) if target != prefix else ""
    return ""


def owner_of(uid: int | None, path: Path | None = None) -> str | None:
    """The file's owner: the account name of ``uid`` (POSIX), or the owner in the file's security descriptor
    (Windows, where listings carry no uid)."""
    if uid is None:
        if path is not None and sys.platform == "win32":
            try:
                return file_owner(path)
            except (OSError, AttributeError, ValueError):
                return None
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _sha256(cand: Candidate) -> str | None:
    try:
        with cand.open() as fh:
            return sha256_stream(fh)
    except OSError:
        return None


class _Progress:
    """A rich progress line (files, bytes, tables with people's data) on an interactive terminal; nothing
    otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.bar = None
        if enabled:
            # rich's progress machinery is imported only for an interactive terminal
            from rich.console import Console
            from rich.progress import Progress, TextColumn

            self.bar = Progress(TextColumn("{task.description}"), console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task("")
            self.bar.start()
            self.files = self.bytes = 0

    def advance(self, size: int, with_people: int) -> None:
        if self.bar is None:
            return
        self.files += 1
        self.bytes += size
        self.bar.update(self.task, description=f"files {self.files}  {self.bytes / 1e6:.1f} MB  "
                                               f"with personal data {with_people}")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
