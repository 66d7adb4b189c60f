"""Walking the export roots: candidate files only, no symlink loops, no other file systems, no system
folders; every folder we could not enter is reported with its reason."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .file_scan import CANDIDATE_EXT
from .textpath import display_path


@dataclass
class Candidate:
    path: Path
    size: int
    mtime_ns: int
    inode: int
    uid: int | None


def dedupe_roots(roots: list[Path]) -> list[Path]:
    resolved = []
    for r in roots:
        try:
            resolved.append(r.resolve())
        except (OSError, RuntimeError):
            resolved.append(r)
    out: list[Path] = []
    for r in sorted(set(resolved), key=lambda p: (len(p.parts), str(p))):
        if not any(r == o or o in r.parents for o in out):
            out.append(r)
    return out


def walk(root: Path, skip_rel: set[str], skip_names: set[str], cov) -> Iterator[Candidate]:
    try:
        root_dev = root.stat().st_dev
    except OSError as exc:
        cov.skip(display_path(root), f"cannot open root ({exc.strerror})")
        return
    seen: set[tuple[int, int]] = set()
    stack = [root]
    posix = sys.platform != "win32"
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
            key = (st.st_dev, st.st_ino)
            if posix and key in seen:
                continue
            seen.add(key)
            entries = list(os.scandir(folder))
        except PermissionError:
            cov.skip(display_path(folder), "permission denied")
            continue
        except FileNotFoundError:
            cov.skip(display_path(folder), "vanished during the scan")
            continue
        except OSError as exc:
            cov.skip(display_path(folder), f"cannot list ({exc.strerror or exc})")
            continue
        for entry in sorted(entries, key=lambda e: e.name):
            try:
                if entry.is_symlink() or (hasattr(entry, "is_junction") and entry.is_junction()):
                    continue  # links are not followed: no loops, no escaping the root
                if entry.is_dir(follow_symlinks=False):
                    rel = os.path.relpath(entry.path, root).replace("\\", "/").casefold()
                    if rel in skip_rel or entry.name.casefold() in skip_names:
                        continue
                    if posix:
                        est = entry.stat(follow_symlinks=False)
                        if est.st_dev != root_dev:
                            cov.skip(display_path(entry.path), "other file system, not entered")
                            continue
                    stack.append(Path(entry.path))
                    continue
                name = entry.name.lower()
                dot = name.rfind(".")
                if dot < 0 or name[dot:] not in CANDIDATE_EXT or name.startswith("~$"):
                    continue
                est = entry.stat(follow_symlinks=False)
                ino = est.st_ino or 0
                if not posix and not ino:
                    try:
                        ino = os.stat(entry.path).st_ino
                    except OSError:
                        ino = 0
                yield Candidate(Path(entry.path), est.st_size, est.st_mtime_ns, ino,
                                getattr(est, "st_uid", None) if posix else None)
            except FileNotFoundError:
                cov.skip(display_path(entry.path), "vanished during the scan")
            except OSError as exc:
                cov.skip(display_path(entry.path), f"cannot stat ({exc.strerror or exc})")
