"""Incremental state: what each examined file held last time, keyed by path, size, mtime and inode.

Holds counts and hashes only, never values. The database is created owner-only in the user's state
directory (platformdirs; AUDITOR_STATE_DIR overrides)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import platformdirs

from ..fsutil import restrict_to_owner

SCHEMA = 1


def state_dir() -> Path:
    override = os.environ.get("AUDITOR_STATE_DIR")
    return Path(override) if override else Path(platformdirs.user_state_dir("yuncang-auditor", appauthor=False))


class FileState:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "files.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(self.path.parent, 0o700)
        except OSError:
            pass
        new = not self.path.exists()
        self.db = sqlite3.connect(str(self.path))
        if new:
            restrict_to_owner(self.path)
        self.db.execute("CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
                        "inode INTEGER, outcomes TEXT, schema INTEGER)")
        self._cache: dict[bytes, tuple[int, int, int, str, int]] | None = None

    def _load(self) -> dict[bytes, tuple[int, int, int, str, int]]:
        if self._cache is None:
            self._cache = {row[0]: tuple(row[1:]) for row in self.db.execute(
                "SELECT path, size, mtime_ns, inode, outcomes, schema FROM files")}
        return self._cache

    def lookup(self, path: Path, size: int, mtime_ns: int, inode: int) -> list[dict[str, Any]] | None:
        row = self._load().get(os.fsencode(path))
        if row and row[0] == size and row[1] == mtime_ns and row[2] == inode and row[4] == SCHEMA:
            return json.loads(row[3])
        return None

    def store(self, path: Path, size: int, mtime_ns: int, inode: int, outcomes: list[dict[str, Any]]) -> None:
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                        (os.fsencode(path), size, mtime_ns, inode, json.dumps(outcomes, ensure_ascii=False), SCHEMA))

    def drop_missing(self, roots: list[Path], seen: set[bytes]) -> int:
        """Forget files under the scanned roots that are gone."""
        prefixes = [os.fsencode(r) for r in roots]
        gone = [p for p in self._load() if p not in seen and any(
            p.startswith(pre + os.sep.encode()) or p == pre for pre in prefixes)]
        self.db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in gone])
        return len(gone)

    def close(self) -> None:
        self.db.commit()
        self.db.close()
