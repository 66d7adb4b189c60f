"""Opening a browser's SQLite database without disturbing the browser or the evidence.

* The file is opened through a URI with ``mode=ro&immutable=1``: SQLite takes no lock, creates no journal,
  ``-wal`` or ``-shm`` file, and never writes. This works while the browser holds the database in exclusive
  locking mode.
* Because an immutable open assumes nobody writes, a read that fails (the browser wrote meanwhile) is tried
  again, and then once more from an in-memory copy of the file's bytes (``Connection.deserialize``, Python
  3.11+): nothing is ever copied to disk.
* A browser that uses a write-ahead log (Firefox's ``places.sqlite``; Chromium where WAL mode is on) keeps its
  newest transactions in ``<db>-wal`` until it checkpoints. An immutable open ignores that file, so when it is
  there its committed frames are applied to an in-memory copy of the database (``apply_wal``), never to the
  file itself.
* An authorizer allows reading only the tables (and columns) a reader names: browsing-history tables such as
  ``urls``/``visits`` cannot be read even by mistake.
"""

from __future__ import annotations

import sqlite3
import struct
import time
from pathlib import Path
from typing import Callable, Mapping, TypeVar

T = TypeVar("T")
MAX_MEMORY_COPY = 1 << 30  # never pull more than 1 GiB into memory
SQLITE_MAGIC = b"SQLite format 3\x00"


class Unreadable(Exception):
    """The database cannot be read; the message goes to the coverage."""


def _authorizer(allowed: Mapping[str, frozenset[str] | None]):
    allowed = {k.lower(): v for k, v in allowed.items()}

    def check(action, arg1, arg2, _db, _trigger):
        if action == sqlite3.SQLITE_READ:
            table, column = (arg1 or "").lower(), (arg2 or "").lower()
            if table in ("sqlite_master", "sqlite_schema"):
                return sqlite3.SQLITE_OK
            if table not in allowed:
                return sqlite3.SQLITE_DENY
            cols = allowed[table]
            return sqlite3.SQLITE_OK if cols is None or not column or column in cols else sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_PRAGMA:
            name, arg = (arg1 or "").lower(), (arg2 or "").lower()
            if name == "table_info" and arg in allowed:
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION):
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY  # no writes, no ATTACH, no schema changes

    return check


def uri_for(path: Path) -> str:
    return Path(path).resolve().as_uri() + "?mode=ro&immutable=1"


def open_immutable(path: Path, allowed: Mapping[str, frozenset[str] | None]) -> sqlite3.Connection:
    con = sqlite3.connect(uri_for(path), uri=True, isolation_level=None)
    con.set_authorizer(_authorizer(allowed))
    return con


WAL_MAGIC = (0x377F0682, 0x377F0683)


def _wal_checksum(data: bytes, s0: int, s1: int, big_endian: bool) -> tuple[int, int]:
    ints = struct.unpack((">" if big_endian else "<") + "I" * (len(data) // 4), data)
    for i in range(0, len(ints), 2):
        s0 = (s0 + ints[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + ints[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def apply_wal(db: bytes, wal: bytes) -> tuple[bytes, int]:
    """The database image with the write-ahead log's committed frames applied (SQLite's WAL format:
    32-byte header, then frames of a 24-byte header and one page; a frame is valid when its salts match the
    header and the running checksum matches). Returns (image, frames applied)."""
    if len(wal) < 32:
        return db, 0
    magic, _version, page_size, _seq, salt1, salt2, c0, c1 = struct.unpack(">8I", wal[:32])
    if magic not in WAL_MAGIC or page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        return db, 0
    big = magic == WAL_MAGIC[1]
    s0, s1 = _wal_checksum(wal[:24], 0, 0, big)
    if (s0, s1) != (c0, c1):
        return db, 0
    pages: dict[int, bytes] = {}
    committed: dict[int, bytes] = {}
    db_pages = 0
    applied = 0
    offset = 32
    while offset + 24 + page_size <= len(wal):
        pgno, commit_size, f_salt1, f_salt2, f0, f1 = struct.unpack(">6I", wal[offset:offset + 24])
        page = wal[offset + 24:offset + 24 + page_size]
        if (f_salt1, f_salt2) != (salt1, salt2) or pgno == 0:
            break
        s0, s1 = _wal_checksum(wal[offset:offset + 8], s0, s1, big)
        s0, s1 = _wal_checksum(page, s0, s1, big)
        if (s0, s1) != (f0, f1):
            break
        pages[pgno] = page
        if commit_size:
            committed.update(pages)
            applied += len(pages)
            pages = {}
            db_pages = commit_size
        offset += 24 + page_size
    if not committed:
        return db, 0
    image = bytearray(db[:db_pages * page_size].ljust(db_pages * page_size, b"\0"))
    for pgno, page in committed.items():
        if pgno <= db_pages:
            image[(pgno - 1) * page_size:pgno * page_size] = page
    image[18:20] = b"\x01\x01"  # legacy journal: an in-memory copy cannot be in WAL mode
    return bytes(image), applied


def wal_file(path: Path) -> Path | None:
    wal = Path(str(path) + "-wal")
    try:
        return wal if wal.is_file() and wal.stat().st_size > 32 else None
    except OSError:
        return None


def _read_capped(path: Path) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(MAX_MEMORY_COPY + 1)
    if len(data) > MAX_MEMORY_COPY:
        raise Unreadable("too large for an in-memory copy")
    return data


def open_memory_copy(path: Path, allowed: Mapping[str, frozenset[str] | None],
                     with_wal: bool = False) -> sqlite3.Connection:
    if not hasattr(sqlite3.Connection, "deserialize"):
        raise Unreadable("in-memory copy needs Python 3.11+")
    data = _read_capped(path)
    wal = wal_file(path) if with_wal else None
    if wal is not None:
        data, _ = apply_wal(data, _read_capped(wal))
    elif data[18:20] == b"\x02\x02":
        data = data[:18] + b"\x01\x01" + data[20:]
    con = sqlite3.connect(":memory:", isolation_level=None)
    con.deserialize(data)
    con.set_authorizer(_authorizer(allowed))
    return con


def table_columns(con: sqlite3.Connection, table: str) -> list[str]:
    """Columns of ``table`` (empty when the table does not exist)."""
    return [row[1] for row in con.execute(f"PRAGMA table_info({table})")]


def read_database(path: Path, allowed: Mapping[str, frozenset[str] | None],
                  reader: Callable[[sqlite3.Connection], T], retries: int = 2) -> tuple[T, str]:
    """Run ``reader`` on the database at ``path``; returns (result, how it was opened).

    Raises Unreadable with a short reason when the file is missing, not SQLite, corrupt or unreadable."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise Unreadable(f"cannot open ({exc.strerror or exc})") from None
    if head and head != SQLITE_MAGIC:
        raise Unreadable("not an SQLite database (bad header)")
    last = ""
    if wal_file(path) is not None and hasattr(sqlite3.Connection, "deserialize"):
        for attempt in range(retries + 1):
            try:
                con = open_memory_copy(path, allowed, with_wal=True)
                try:
                    return reader(con), "in memory with its write-ahead log applied (no lock, nothing written)"
                finally:
                    con.close()
            except sqlite3.DatabaseError as exc:  # a torn read while the browser wrote: try again
                last = str(exc)
                time.sleep(0.2 * (attempt + 1))
    for attempt in range(retries + 1):
        try:
            con = open_immutable(path, allowed)
            try:
                return reader(con), "read-only, immutable (no lock)"
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            last = str(exc)
            if attempt < retries:
                time.sleep(0.2 * (attempt + 1))
    try:
        con = open_memory_copy(path, allowed)
        try:
            return reader(con), "in-memory copy (immutable read failed: " + last + ")"
        finally:
            con.close()
    except (sqlite3.DatabaseError, OSError, Unreadable) as exc:
        raise Unreadable(f"corrupt or unreadable database ({last or exc})") from None
