"""The executable facts cache: what a scan read from a running program's executable (its PE version strings, its
Authenticode signers, its Go/Rust build marks, its SHA-256 when one was taken) kept in the agent's state folder,
so that the next scan does not read and parse the same binaries again (under Wine most of a short remote scan).

A user may put any bytes in a file they can write and then set its modification time (and on Windows every one
of its times) back. So an entry is used only for the very file it was read from, unchanged, and only where no
user can have changed it unnoticed:

* **Key:** SHA-256 of the cache format, the agent's version, the path and, of the opened file (``fstat`` of the
  descriptor ``safeio`` opened, never a second look-up of the path): device (volume serial), file id (inode /
  NTFS file index), size, modification time and, on POSIX, the status change time (``st_ctime``: the kernel sets
  it at every write, rename, chmod and utime, and no user can set it); on Windows the creation time.
* **POSIX:** any executable may be cached: rewriting a file and putting its modification time back moves its
  ctime, replacing it gives another inode (or, reused, another ctime).
* **Windows:** every time of a file, ChangeTime included, can be set by whoever may write its attributes
  (SetFileInformationByHandle with FILE_BASIC_INFO), so no time proves a file unchanged. An executable is cached,
  and its entry used, only when its own security descriptor, read from the opened handle, lets nobody but SYSTEM,
  Administrators, TrustedInstaller and the account the agent runs as change it (``winacl.writer_problems``: owner
  and every entry granting write, append, delete, WRITE_DAC or WRITE_OWNER). A user's executable (in their
  profile, ``C:\\Users\\Public``, a vendor folder opened to Everyone) is read at every scan, as without a cache.
* **Racy files:** an entry is written only when the file's last change (ctime on POSIX, last write on Windows) is
  at least 2 s old, so a change within the file system's time granularity of the read cannot hide behind it.
* **The file** is ``executables.json`` in ``paths.exe_cache_dir()`` (``auditor.cachefile``: read through
  ``safeio``, checksummed, owner-only; anything doubtful reads as empty). An entry is named by its key and holds
  no path: like the incremental state, the file names no file (a path with a person's name or mobile in it is
  not written down, and the file identity hashed with it cannot be guessed from outside the PC). An entry whose
  data does not decode is read again; entries not seen for 30 days are dropped (a replaced executable's old
  entry with them), and at most 2,048 are kept (the most recently seen); an entry's data is at most 16 KiB
  (larger facts are read at every scan). Deleting the file is always safe.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
import sys
import time
from dataclasses import dataclass
from typing import Any, BinaryIO

from .. import __version__, cachefile, winacl
from ..authenticode import Signer
from ..paths import exe_cache_dir
from .build_marks import MAX_CRATES, BuildMarks

FORMAT = "executables-2"  # 2: Go/Rust build marks
CACHE_FILE = "executables.json"
MAX_CACHE = 32 << 20
MAX_ENTRIES = 2048
MAX_ENTRY = 16 << 10
KEEP_DAYS = 30
SETTLE_NS = 2_000_000_000  # FAT's time granularity; ext4 and NTFS are far finer
MAX_TEXT = 1024  # one version string or signer name as the cache carries it
WINDOWS = sys.platform == "win32"
_DRIVE_PATH = re.compile(r"[A-Za-z]:\\")
_REPARSE_POINT = 0x400  # FILE_ATTRIBUTE_REPARSE_POINT


@dataclass(frozen=True)
class ExeFacts:
    """What an executable says of itself: PE version strings (sorted pairs), Authenticode signers, SHA-256, Go/Rust
    build marks."""

    version: tuple[tuple[str, str], ...] = ()
    signers: tuple[Signer, ...] = ()
    sha256: str | None = None
    marks: BuildMarks = BuildMarks()


NO_FACTS = ExeFacts()


@dataclass(frozen=True)
class Ident:
    key: str  # the entry's name (see "Key")
    settled: bool  # old enough to be written (see "Racy files")


class Session:
    """The cache for one scan: entries read once, facts of this scan's executables kept, written once
    (:meth:`save`)."""

    def __init__(self, today: dt.date | None = None) -> None:
        self.place = exe_cache_dir() / CACHE_FILE
        self.stored = cachefile.read(self.place, FORMAT, MAX_CACHE)
        self.today = (today or dt.date.today()).isoformat()
        self.kept: dict[str, tuple[str, bytes]] = {}  # entries to write: new or seen again today
        self.seen: dict[str, ExeFacts] = {}  # key -> facts, this scan
        self._own_sid: str | None = None

    # ----------------------------------------------------------------- looking up
    def quick(self, path: str) -> ExeFacts | None:
        """The facts held for the file ``path`` names now, found without opening its data (one ``lstat``; on
        Windows one handle for its attributes and security descriptor): None when there are none, when it may not
        be cached, or when the path ends in a link (then it is opened through safeio, as without a cache). An
        entry exists only for a file once opened through safeio at this path, and its key is that file's identity,
        unchanged."""
        try:
            if WINDOWS:
                if not _DRIVE_PATH.match(path):
                    return None  # a share or device path: read as without a cache
                st, sddl = winacl.stat_and_sddl(path)
                if getattr(st, "st_file_attributes", 0) & _REPARSE_POINT or not self._admins_only(sddl):
                    return None
            else:
                st = os.lstat(path)
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None  # a link (read through safeio, as without a cache), a folder, a FIFO
        ident = _ident(path, st)
        return self.lookup(ident) if ident is not None else None

    def identify(self, path: str, fh: BinaryIO) -> Ident | None:
        """The cache identity of the file ``fh`` (opened from ``path`` through safeio), or None when it may not be
        cached (see the module's rules)."""
        try:
            st = os.fstat(fh.fileno())
            if WINDOWS and not self._admins_only(winacl.handle_sddl(fh.fileno())):
                return None
        except (OSError, ValueError, AttributeError):
            return None
        return _ident(path, st)

    def _admins_only(self, sddl: str) -> bool:
        if self._own_sid is None:
            self._own_sid = winacl.current_user_sid()
        return not winacl.writer_problems(sddl, also=self._own_sid)

    def lookup(self, ident: Ident) -> ExeFacts | None:
        if ident.key in self.seen:
            return self.seen[ident.key]
        entry = self.stored.get(ident.key)
        if entry is None or entry[0] != ident.key:
            return None
        decoded = _decode(entry[1])
        if decoded is None:
            return None
        facts, seen = decoded
        self.seen[ident.key] = facts
        if seen != self.today:
            self._keep(ident, facts)  # seen again: its date moves on (written at most once a day)
        return facts

    # ----------------------------------------------------------------- keeping
    def keep(self, ident: Ident, facts: ExeFacts) -> None:
        """Remember ``facts`` read from the file ``ident`` names: for this scan, and in the file when it settled."""
        self.seen[ident.key] = facts
        if ident.settled:
            self._keep(ident, facts)

    def _keep(self, ident: Ident, facts: ExeFacts) -> None:
        data = _encode(facts, self.today)
        if len(data) <= MAX_ENTRY and _decode(data) is not None:  # facts the cache cannot carry: read every time
            self.kept[ident.key] = (ident.key, data)

    def save(self) -> None:
        """Write the cache when this scan added or refreshed an entry: stale entries dropped, bounded."""
        if not self.kept:
            return
        oldest = (dt.date.fromisoformat(self.today) - dt.timedelta(days=KEEP_DAYS)).isoformat()
        merged: dict[str, tuple[str, bytes, str]] = {}
        for name, (key, data) in {**self.stored, **self.kept}.items():
            decoded = _decode(data)
            if decoded is not None and decoded[1] >= oldest:
                merged[name] = (key, data, decoded[1])
        newest = sorted(merged.items(), key=lambda item: item[1][2], reverse=True)[:MAX_ENTRIES]
        if cachefile.write(self.place, FORMAT, {name: (key, data) for name, (key, data, _) in newest},
                           tag="exe-cache"):
            self.stored = cachefile.read(self.place, FORMAT, MAX_CACHE)
        self.kept.clear()


def _ident(path: str, st: os.stat_result) -> Ident | None:
    if not st.st_ino:  # a file system without file ids: nothing tells one file from another
        return None
    if WINDOWS:
        extra = getattr(st, "st_birthtime_ns", None) or st.st_ctime_ns  # creation time (3.12+: st_birthtime)
        changed = st.st_mtime_ns
    else:
        extra = changed = st.st_ctime_ns
    h = hashlib.sha256(f"{FORMAT}\0{__version__}\0{path}\0".encode("utf-8", "surrogateescape"))
    h.update(f"{st.st_dev}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}\0{extra}".encode("ascii"))
    return Ident(h.hexdigest(), time.time_ns() - changed >= SETTLE_NS)


def _encode(facts: ExeFacts, seen: str) -> bytes:
    return json.dumps({"v": [list(pair) for pair in facts.version],
                       "s": [[s.common_name, s.organization, s.issuer] for s in facts.signers],
                       "h": facts.sha256, "m": [facts.marks.go_module, facts.marks.go_package,
                                                list(facts.marks.rust_crates)],
                       "seen": seen}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _decode(data: bytes) -> tuple[ExeFacts, str] | None:
    """(facts, the date last seen) of an entry's data; None for anything that is not exactly what _encode
    writes."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict) or set(obj) != {"v", "s", "h", "m", "seen"}:
        return None
    version, signers, sha, marks, seen = obj["v"], obj["s"], obj["h"], obj["m"], obj["seen"]
    if not (isinstance(version, list) and isinstance(signers, list) and _is_date(seen)):
        return None
    if sha is not None and not (isinstance(sha, str) and len(sha) == 64 and _is_hex(sha)):
        return None
    if not all(_texts(pair, 2) for pair in version) or not all(_texts(s, 3) for s in signers):
        return None
    if not (isinstance(marks, list) and len(marks) == 3 and _texts(marks[:2], 2) and isinstance(marks[2], list)
            and len(marks[2]) <= MAX_CRATES and all(isinstance(c, str) and len(c) <= MAX_TEXT for c in marks[2])):
        return None
    return ExeFacts(tuple((k, v) for k, v in version), tuple(Signer(*s) for s in signers), sha,
                    BuildMarks(marks[0], marks[1], tuple(marks[2]))), seen


def _texts(value: Any, n: int) -> bool:
    return (isinstance(value, list) and len(value) == n
            and all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value))


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
