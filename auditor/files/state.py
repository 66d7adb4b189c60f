"""Incremental state: what each examined file held last time, so an unchanged file is not read again.

Holds counts and hashes only, never values and never names. A file is known by a keyed hash of its path
(HMAC-SHA256 with a random per-install key kept owner-only beside the database, ``files.key``): the database
alone — a backup, a copy sent with a bug report — tells nothing about which files exist, and a guessed name
(``张三13812345678.csv``) cannot be checked against it without the key. A row holds the key, the keyed hash of
the scanned root it was found under, size, mtime and inode (a changed file is read again), the outcome counts
(archive members by their masked name inside the archive) and when it was last seen.

Forgetting what is gone needs no paths: a scan of a root knows every file it saw there, so a row found under
that root and not seen this time is deleted; a row no scan has seen for ``FORGET_DAYS`` (its root no longer
scanned) is deleted too. A state of the first layout (raw paths as keys) is dropped and the file vacuumed, so
no old name is left in its free pages; the next scan reads every file once.

The folder is ``AUDITOR_STATE_DIR`` or the user's state folder (platformdirs), 0700; the files are 0600."""

from __future__ import annotations

import hmac
import json
import os
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

from .. import safeio
from ..durable import restrict_to_owner, write_bytes
from ..leakguard import scrub
from ..paths import prepare, state_dir

SCHEMA = 2
_DECODER = json.JSONDecoder()  # rows are written by json.dumps below: no whitespace around them
FORGET_DAYS = 180
SEEN_STEP = 86400  # seconds: how often an unchanged file's last-seen time is written again
KEY_BYTES = 32


def _install_key(folder: Path) -> tuple[bytes, bool]:
    """(the per-install key, whether it was created just now)."""
    path = folder / "files.key"
    try:
        key = safeio.read_bytes(path, max_size=4096)
        if len(key) >= KEY_BYTES and _private(path):
            return key, False
    except OSError:
        pass  # missing, not a regular file, unreadable: replaced (a rename replaces a link, never its target)
    # a key another account could read (or own) is replaced: the state made with it is forgotten and every file is
    # read once more, rather than keep names that key would let someone test against the database
    key = secrets.token_bytes(KEY_BYTES)
    write_bytes(path, key)
    return key, True


def _private(path: Path) -> bool:
    """The key file is ours and nobody else may read or write it (POSIX modes; on Windows the data folder's ACL
    holds, see paths.py)."""
    if os.name == "nt":
        return True
    st = os.lstat(path)
    return st.st_uid == os.geteuid() and not st.st_mode & 0o077


class FileState:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "files.sqlite"
        prepare(self.path.parent)
        self.secret, fresh_key = _install_key(self.path.parent)
        new = not self.path.exists()
        self.db = sqlite3.connect(str(self.path))
        if new or os.name != "nt":
            restrict_to_owner(self.path)  # new, or on POSIX left wider by someone: owner-only either way
        self.db.execute("PRAGMA secure_delete = ON")  # a forgotten row leaves nothing in free pages
        cols = [r[1] for r in self.db.execute("PRAGMA table_info(files)")]
        if cols and "key" not in cols:  # first layout: keyed by the raw path
            self.db.execute("DROP TABLE files")
            self.db.commit()
            self.db.execute("VACUUM")
        self.db.execute("CREATE TABLE IF NOT EXISTS files (key BLOB PRIMARY KEY, root BLOB, size INTEGER, "
                        "mtime_ns INTEGER, inode INTEGER, outcomes TEXT, schema INTEGER, seen INTEGER)")
        if fresh_key:
            self.db.execute("DELETE FROM files")  # keys made with a lost install key can never match again
        self._cache: dict[bytes, tuple[Any, ...]] | None = None
        self._seen: dict[bytes, bytes] = {}  # file key -> root key, this scan
        self._last: tuple[object, bytes, bytes] = (None, b"", b"")  # the last path, its bytes and its key
        self._roots: dict[Path, bytes] = {}

    def key(self, path: Path | str | bytes) -> bytes:
        last_path, last_raw, last_key = self._last
        if path is last_path:  # the walk asks seen() then lookup() for the same file: one HMAC for both
            return last_key
        raw = path if isinstance(path, bytes) else os.fsencode(path)
        if raw != last_raw:
            last_key = self._digest(raw)
        self._last = (path, raw, last_key)
        return last_key

    def _root_key(self, root: Path) -> bytes:
        if root not in self._roots:
            self._roots[root] = self._digest(os.fsencode(root))
        return self._roots[root]

    def _digest(self, raw: bytes) -> bytes:
        return hmac.digest(self.secret, raw, "sha256")[:16]  # one call into OpenSSL (hmac.new: four Python steps)

    def _load(self) -> dict[bytes, tuple[Any, ...]]:
        if self._cache is None:
            self._cache = {row[0]: tuple(row[1:]) for row in self.db.execute(
                "SELECT key, root, size, mtime_ns, inode, outcomes, schema, seen FROM files")}
        return self._cache

    def seen(self, path: Path, root: Path) -> None:
        """``path`` exists under the scanned ``root`` (call for every file walked)."""
        self._seen[self.key(path)] = self._root_key(root)

    def lookup(self, path: Path, size: int, mtime_ns: int, inode: int) -> list[dict[str, Any]] | None:
        row = self._load().get(self.key(path))
        if row and row[1] == size and row[2] == mtime_ns and row[3] == inode and row[5] == SCHEMA:
            text = row[4]
            try:
                outcomes, end = _DECODER.raw_decode(text)  # json.loads without its two whitespace searches
            except (TypeError, ValueError):
                return None
            return outcomes if isinstance(outcomes, list) and end == len(text) else None
        return None

    def store(self, path: Path, root: Path, size: int, mtime_ns: int, inode: int,
              outcomes: list[dict[str, Any]]) -> None:
        """Remember ``outcomes`` (counts; strings are checked for personal data once more)."""
        key = self.key(path)
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (key, self._root_key(root), size, mtime_ns, inode,
                         json.dumps(scrub(outcomes), ensure_ascii=False), SCHEMA, int(time.time())))

    def drop_missing(self, roots: list[Path]) -> int:
        """Forget files under the scanned roots that were not seen, and files no scan has seen for a long time."""
        root_keys = {self._root_key(r) for r in roots}
        known = self._load()
        gone = [k for k, row in known.items() if row[0] in root_keys and k not in self._seen]
        self.db.executemany("DELETE FROM files WHERE key = ?", [(k,) for k in gone])
        now = int(time.time())
        # a file's last-seen time moves on once a day at most (it only ages rows out)
        self.db.executemany("UPDATE files SET seen = ? WHERE key = ?",
                            [(now, k) for k in self._seen if k not in known or (known[k][6] or 0) < now - SEEN_STEP])
        old = self.db.execute("DELETE FROM files WHERE seen < ?", (now - FORGET_DAYS * 86400,)).rowcount
        return len(gone) + max(old, 0)

    def close(self) -> None:
        self.db.commit()
        self.db.close()
