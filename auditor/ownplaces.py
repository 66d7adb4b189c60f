"""The agent's own places on disk, never walked as export folders wherever they lie (even under a ``--path``):
the remediation quarantine (originals moved aside), the incremental state and the fleet store (with the user
data folder that holds them by default). Folders are compared by device and inode, so no spelling of a path,
link or mount can make the agent scan (and later mask) what it put away itself."""

from __future__ import annotations

import os
from pathlib import Path

from .paths import data_dir, fleet_db_path, quarantine_dir, state_dir


def own_folders() -> list[Path]:
    """Folders that belong to the agent (some may not exist)."""
    return [quarantine_dir(), state_dir(), data_dir()]


def own_files() -> list[Path]:
    """Single files of the agent that may lie in a folder of their own choosing (the fleet store)."""
    db = fleet_db_path()
    return [db, Path(f"{db}-journal"), Path(f"{db}-wal"), Path(f"{db}-shm")]


def own_ids() -> frozenset[tuple[int, int]]:
    """(device, inode) of every own place that exists now."""
    ids: set[tuple[int, int]] = set()
    for path in [*own_folders(), *own_files()]:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            continue
        if st.st_ino:
            ids.add((st.st_dev, st.st_ino))
    return frozenset(ids)


def is_own(path: Path | str, ids: frozenset[tuple[int, int]] | None = None) -> bool:
    """Whether ``path`` or one of its folders is an own place (by device and inode)."""
    ids = own_ids() if ids is None else ids
    if not ids:
        return False
    cur = os.path.abspath(path)
    while True:
        try:
            st = os.lstat(cur)
            if (st.st_dev, st.st_ino) in ids:
                return True
        except OSError:
            pass
        parent = os.path.dirname(cur)
        if parent == cur:
            return False
        cur = parent
