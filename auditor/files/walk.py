"""Walking the export roots by folder descriptor (auditor.safeio.OpenDir): candidate files only, no link
followed (no loops, no escaping the root, no folder swapped for a link halfway through redirecting the walk),
no other file systems, no system folders, never the agent's own places (quarantine, state, fleet store). Each
candidate is opened as the entry that was listed, never by path again. Every folder we could not enter and
every export-named entry that is not a regular file (a FIFO, a device, a socket, a link) is reported with its
reason."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from .. import safeio
from ..ownplaces import own_ids
from .formats import CANDIDATE_EXT
from .textpath import display_path

MAX_DEPTH = 64  # folders nested deeper than this are reported, not entered (one descriptor per level)
OWN_PLACE = "the agent's own folder (quarantine, incremental state or fleet store), not walked"


@dataclass
class Candidate:
    path: Path
    size: int
    mtime_ns: int
    inode: int
    uid: int | None
    opener: Callable[..., BinaryIO] | None = None  # opens the listed entry itself (not the path again)

    def open(self, **kw) -> BinaryIO:
        return self.opener(**kw) if self.opener is not None else safeio.open_regular(self.path, **kw)


def resolve_root(path: Path, tree: safeio.Tree = safeio.LIVE) -> Path:
    """The folder a root names, links resolved under the tree's rules (a user's link is not: the walk then
    refuses it); the path as given when it cannot be resolved."""
    try:
        return tree.resolve(path)
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(path))


def dedupe_roots(roots: list[Path], tree: safeio.Tree = safeio.LIVE) -> list[Path]:
    resolved = [resolve_root(r, tree) for r in roots]
    out: list[Path] = []
    for r in sorted(set(resolved), key=lambda p: (len(p.parts), str(p))):
        if not any(r == o or o in r.parents for o in out):
            out.append(r)
    return out


def is_candidate_name(name: str) -> bool:
    low = name.lower()
    dot = low.rfind(".")
    return dot >= 0 and low[dot:] in CANDIDATE_EXT and not low.startswith("~$")


def _identity(entry: safeio.Entry) -> tuple[int, int]:
    """(device, inode) of a listed entry; Windows lists none (DirEntry.stat), so it is asked for."""
    if entry.ino or not safeio.WINDOWS:
        return entry.dev, entry.ino
    try:
        st = os.lstat(entry.path)
    except OSError:
        return 0, 0
    return st.st_dev, st.st_ino


def walk(root: Path, skip_rel: set[str], skip_names: set[str], cov, tree: safeio.Tree = safeio.LIVE,
         own: frozenset[tuple[int, int]] | None = None) -> Iterator[Candidate]:
    """Candidates under ``root``; a candidate can be opened (``Candidate.open``) while the walk stands on it."""
    own = own_ids() if own is None else own
    try:
        top = safeio.OpenDir.open(root, tree)
    except OSError as exc:
        cov.skip(display_path(root), f"cannot open root ({safeio.reason_of(exc)})")
        cov.status = "failed"
        return
    if (top.dev, top.ino) in own:
        top.close()
        cov.note = "; ".join(filter(None, [cov.note, OWN_PLACE]))
        return
    posix = not safeio.WINDOWS
    root_dev = top.dev
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[safeio.OpenDir, Iterator[safeio.Entry], str]] = []

    def listing(folder: safeio.OpenDir, rel: str) -> tuple[list[Candidate], list[safeio.Entry]] | None:
        key = (folder.dev, folder.ino)
        if posix and key in seen:
            return None
        seen.add(key)
        try:
            entries = folder.entries()
        except FileNotFoundError:
            cov.skip(display_path(folder.path), "vanished during the scan")
            return None
        except OSError as exc:
            cov.skip(display_path(folder.path), f"cannot list ({safeio.reason_of(exc)})")
            return None
        files: list[Candidate] = []
        subdirs: list[safeio.Entry] = []
        for entry in entries:
            if entry.kind == "dir":
                sub = f"{rel}/{entry.name}".lstrip("/").replace("\\", "/").casefold()
                if sub in skip_rel or entry.name.casefold() in skip_names:
                    continue
                if own and _identity(entry) in own:
                    cov.note = "; ".join(filter(None, [cov.note, f"{display_path(entry.path)}: {OWN_PLACE}"]))
                    continue
                if posix and entry.dev != root_dev:
                    cov.skip(display_path(entry.path), "other file system, not entered")
                    continue
                subdirs.append(entry)
                continue
            if not is_candidate_name(entry.name):
                continue
            if entry.kind == "link":
                cov.skip(display_path(entry.path), "a symbolic link or junction, not followed")
                continue
            if entry.kind != "file":
                cov.skip(display_path(entry.path), f"{safeio.kind_of(entry.mode)}, not a regular file")
                continue
            if own and _identity(entry) in own:
                continue
            ino = entry.ino
            if not ino and not posix:
                try:
                    ino = os.lstat(entry.path).st_ino
                except OSError:
                    ino = 0
            files.append(Candidate(entry.path, entry.size, entry.mtime_ns, ino, entry.uid,
                                   functools.partial(folder.open_file, entry)))
        return files, subdirs

    def enter(folder: safeio.OpenDir, rel: str) -> Iterator[Candidate]:
        got = listing(folder, rel)
        if got is None:
            folder.close()
            return
        files, subdirs = got
        stack.append((folder, iter(subdirs), rel))
        yield from files

    try:
        yield from enter(top, "")
        while stack:
            folder, subdirs, rel = stack[-1]
            entry = next(subdirs, None)
            if entry is None:
                stack.pop()
                folder.close()
                continue
            if len(stack) >= MAX_DEPTH:
                cov.skip(display_path(entry.path), f"nested deeper than {MAX_DEPTH} folders, not entered")
                continue
            try:
                child = folder.child(entry)
            except FileNotFoundError:
                cov.skip(display_path(entry.path), "vanished during the scan")
                continue
            except OSError as exc:
                cov.skip(display_path(entry.path), f"cannot enter ({safeio.reason_of(exc)})")
                continue
            yield from enter(child, f"{rel}/{entry.name}")
    finally:
        for folder, _subdirs, _rel in stack:
            folder.close()
