"""Reading the ``downloads`` table of a Chromium-family ``History`` database (Chrome, Edge, Chromium, 360,
QQ, Sogou, 2345, Liebao).

Only ``downloads`` is read (never ``urls``/``visits``, never ``downloads_url_chains``: the final URL is often
a signed link that would still fetch the export). Columns are checked first with ``PRAGMA table_info``:
profiles migrated from old versions lack ``guid``, ``tab_url``, ``site_url``, ``mime_type`` and others."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .backoffice import PAGE_FIELDS, file_name_of
from .download import CHROMIUM_STATES, Download, Window, datetime_to_webkit, webkit_to_datetime
from .. import safeio
from .sqlite_ro import read_database, table_columns

WANTED = ("id", "guid", "current_path", "target_path", "start_time", "end_time", "received_bytes", "total_bytes",
          "state", "opened", "hash", "by_ext_name", "mime_type", "original_mime_type", *PAGE_FIELDS)
REQUIRED = ("id", "target_path", "start_time", "state")
ALLOWED = {"downloads": frozenset(WANTED)}


@dataclass
class ChromiumRead:
    rows: list[Download] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    how: str = ""
    wal_problem: str = ""  # the write-ahead log could not be used: the newest downloads may be missing
    note: str = ""  # e.g. "no downloads table"


def _read(con: sqlite3.Connection, window: Window, browser: str, profile: str, os_user: str) -> ChromiumRead:
    out = ChromiumRead()
    present = set(table_columns(con, "downloads"))
    if not present:
        out.note = "no downloads table"
        return out
    lacking = [c for c in REQUIRED if c not in present]
    if lacking:
        out.note = f"downloads table lacks {', '.join(lacking)}"
        return out
    cols = [c for c in WANTED if c in present]
    out.missing_columns = [c for c in WANTED if c not in present and c != "current_path"]
    sql = (f"SELECT {', '.join(cols)} FROM downloads WHERE start_time >= ? AND start_time < ? "
           "ORDER BY start_time")
    since, until = datetime_to_webkit(window.since), datetime_to_webkit(window.until)
    for values in con.execute(sql, (since, until)):
        row = dict(zip(cols, values))
        path = row.get("target_path") or row.get("current_path") or ""
        start_us = row.get("start_time") or 0
        key = row.get("guid") or f"id{row['id']}@{start_us}"
        digest = row.get("hash")
        out.rows.append(Download(
            browser=browser, profile=profile, os_user=os_user, key=str(key),
            start=webkit_to_datetime(start_us), end=webkit_to_datetime(row.get("end_time")),
            target_path=path, file_name=file_name_of(path) if path else "",
            state=CHROMIUM_STATES.get(row.get("state"), f"unknown({row.get('state')})"),
            received_bytes=row.get("received_bytes"), total_bytes=row.get("total_bytes"),
            mime_type=row.get("mime_type") or row.get("original_mime_type") or None,
            opened=bool(row["opened"]) if row.get("opened") is not None else None,
            sha256=digest.hex() if isinstance(digest, bytes) and len(digest) == 32 else None,
            by_extension=row.get("by_ext_name") or None,
            urls={f: row.get(f) for f in PAGE_FIELDS if f in row},
        ))
    return out


def read_downloads(history: Path, window: Window, browser: str, profile: str, os_user: str,
                   tree: safeio.Tree = safeio.LIVE) -> ChromiumRead:
    """Downloads started inside ``window``. Raises sqlite_ro.Unreadable for a corrupt/unreadable file."""
    result, result.how, result.wal_problem = read_database(
        history, ALLOWED, lambda con: _read(con, window, browser, profile, os_user), tree=tree)
    return result
