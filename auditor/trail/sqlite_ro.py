"""Opening a browser's SQLite database without disturbing the browser or the evidence, and without trusting
the file: it lies in a folder its user writes.

* The database is never opened by SQLite at its own path. Its bytes are read through auditor.safeio (a
  regular file only: a FIFO, a device or a user's link named ``History`` is refused with the reason; with
  ``--root`` every link is resolved inside the audited tree), up to the size it had when opened and at most
  ``MAX_DATABASE`` bytes, into a private copy: in memory (``Connection.deserialize``, Python 3.11+) when it is
  at most ``MAX_IN_MEMORY`` bytes, otherwise (and on Python 3.9/3.10) a file in an owner-only temporary
  folder that is removed as soon as the read is done. SQLite takes no lock on the browser's file, creates no
  journal, ``-wal`` or ``-shm`` beside it, and never writes there; this works while the browser holds the
  database in exclusive locking mode.
* A browser that uses a write-ahead log (Firefox's ``places.sqlite``; Chromium where WAL mode is on) keeps its
  newest transactions in ``<db>-wal`` until it checkpoints. Its committed frames are applied to the copy
  (``apply_wal``, our own: it needs no particular Python), never to the file. A log that cannot be read or is
  not valid is reported (``wal_problem``): the source is then partial, never ok.
* A read that fails (the browser wrote while we copied) is tried again from a fresh copy.
* An authorizer allows reading only the tables (and columns) a reader names: browsing-history tables such as
  ``urls``/``visits`` cannot be read even by mistake.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping, TypeVar

from .. import safeio
from ..durable import private_temp_dir

T = TypeVar("T")
MAX_DATABASE = 1 << 30  # a database larger than this is not read (coverage says so)
MAX_WAL = 64 << 20
MAX_IN_MEMORY = 32 << 20  # larger copies go to a private temporary file (memory stays bounded)
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


WAL_MAGIC = (0x377F0682, 0x377F0683)


def _wal_checksum(data: bytes, s0: int, s1: int, big_endian: bool) -> tuple[int, int]:
    ints = struct.unpack((">" if big_endian else "<") + "I" * (len(data) // 4), data)
    for i in range(0, len(ints), 2):
        s0 = (s0 + ints[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + ints[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def _wal_pages(wal: bytes) -> tuple[int, int, dict[int, bytes], int] | None:
    """(page size, database pages after the last commit, committed pages by number, frames applied) of a
    write-ahead log (SQLite's WAL format: 32-byte header, then frames of a 24-byte header and one page; a frame
    is valid when its salts match the header and the running checksum matches). None when the log's header is
    not valid."""
    if len(wal) < 32:
        return None
    magic, _version, page_size, _seq, salt1, salt2, c0, c1 = struct.unpack(">8I", wal[:32])
    if magic not in WAL_MAGIC or page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        return None
    big = magic == WAL_MAGIC[1]
    s0, s1 = _wal_checksum(wal[:24], 0, 0, big)
    if (s0, s1) != (c0, c1):
        return None
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
    return page_size, db_pages, committed, applied


def apply_wal(db: bytes, wal: bytes) -> tuple[bytes, int]:
    """The database image with the write-ahead log's committed frames applied. Returns (image, frames
    applied)."""
    found = _wal_pages(wal)
    if found is None or not found[2]:
        return db, 0
    page_size, db_pages, committed, applied = found
    image = bytearray(db[:db_pages * page_size].ljust(db_pages * page_size, b"\0"))
    for pgno, page in committed.items():
        if pgno <= db_pages:
            image[(pgno - 1) * page_size:pgno * page_size] = page
    image[18:20] = b"\x01\x01"  # legacy journal: a copy cannot be in WAL mode
    return bytes(image), applied


def _apply_wal_file(path: str, wal: bytes) -> int:
    """apply_wal on a copy held in a file (pages written in place); frames applied."""
    found = _wal_pages(wal)
    if found is None or not found[2]:
        return 0
    page_size, db_pages, committed, applied = found
    with open(path, "r+b") as fh:
        fh.truncate(db_pages * page_size)
        for pgno, page in committed.items():
            if pgno <= db_pages:
                fh.seek((pgno - 1) * page_size)
                fh.write(page)
    return applied


def _read_wal(path: Path, tree: safeio.Tree) -> tuple[bytes | None, str]:
    """(the write-ahead log's bytes or None, the problem that kept it from being used, or "")."""
    wal = Path(f"{path}-wal")
    try:
        tree.stat(wal)
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, f"its write-ahead log (-wal) could not be reached ({safeio.reason_of(exc)})"
    try:
        data = tree.read_bytes(wal, max_size=MAX_WAL)
    except OSError as exc:
        return None, f"its write-ahead log (-wal) could not be read ({safeio.reason_of(exc)})"
    if len(data) <= 32:
        return None, ""
    if _wal_pages(data) is None:
        return None, "its write-ahead log (-wal) is not valid (bad header or checksum) and was not applied"
    return data, ""


def _legacy(data: bytes) -> bytes:
    """A copy cannot be in WAL mode: the header says rollback journal."""
    return data[:18] + b"\x01\x01" + data[20:] if data[18:20] == b"\x02\x02" else data


@contextmanager
def open_copy(path: Path, allowed: Mapping[str, frozenset[str] | None],
              tree: safeio.Tree = safeio.LIVE) -> Iterator[tuple[sqlite3.Connection, str, str]]:
    """(connection to a private copy, how it was made, the write-ahead log's problem or ""), see above.
    Raises Unreadable when the file cannot be opened or is not SQLite."""
    try:
        fh = tree.open(path, max_size=MAX_DATABASE)
    except OSError as exc:
        raise Unreadable(f"cannot open ({safeio.reason_of(exc)})") from None
    tmpdir = None
    con = None
    try:
        with fh:
            head = fh.read(len(SQLITE_MAGIC))
            fh.seek(0)
            if head and head != SQLITE_MAGIC:
                raise Unreadable("not an SQLite database (bad header)")
            wal, problem = _read_wal(path, tree)
            size = safeio.opened_size(fh)
            if hasattr(sqlite3.Connection, "deserialize") and size <= MAX_IN_MEMORY:
                data = fh.read()
                frames = 0
                if wal is not None:
                    data, frames = apply_wal(data, wal)
                con = sqlite3.connect(":memory:", isolation_level=None)
                con.deserialize(_legacy(data))
                del data
                how = "copied into memory"
            else:
                tmpdir = private_temp_dir("auditor-db-")  # owner-only, a fresh name
                copy = os.path.join(tmpdir, "copy.sqlite")
                with os.fdopen(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                    shutil.copyfileobj(fh, out, 1 << 20)
                frames = _apply_wal_file(copy, wal) if wal is not None else 0
                with open(copy, "r+b") as out:
                    out.seek(18)
                    if out.read(2) == b"\x02\x02":
                        out.seek(18)
                        out.write(b"\x01\x01")
                con = sqlite3.connect(Path(copy).as_uri() + "?mode=ro&immutable=1", uri=True, isolation_level=None)
                how = "copied to a private temporary file"
        del wal
        con.set_authorizer(_authorizer(allowed))
        how += (f", its write-ahead log applied ({frames} frames)" if frames else "") + \
            " (the browser's file is never opened by SQLite, locked or written)"
        yield con, how, problem
    finally:
        if con is not None:
            con.close()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


def table_columns(con: sqlite3.Connection, table: str) -> list[str]:
    """Columns of ``table`` (empty when the table does not exist)."""
    return [row[1] for row in con.execute(f"PRAGMA table_info({table})")]


def read_database(path: Path, allowed: Mapping[str, frozenset[str] | None],
                  reader: Callable[[sqlite3.Connection], T], retries: int = 2,
                  tree: safeio.Tree = safeio.LIVE) -> tuple[T, str, str]:
    """Run ``reader`` on a private copy of the database at ``path``; returns (result, how it was opened, the
    write-ahead log's problem or "").

    Raises Unreadable with a short reason when the file is missing, not a regular file, not SQLite, corrupt
    or unreadable."""
    last = ""
    for attempt in range(retries + 1):
        try:
            with open_copy(path, allowed, tree) as (con, how, problem):
                return reader(con), how, problem
        except (sqlite3.DatabaseError, OSError) as exc:  # a torn copy while the browser wrote: copy again
            last = str(exc) or type(exc).__name__
            if attempt < retries:
                time.sleep(0.2 * (attempt + 1))
    raise Unreadable(f"corrupt or unreadable database ({last})")
