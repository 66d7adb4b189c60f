"""Reading Firefox downloads from ``places.sqlite`` page annotations.

Firefox (since v26) keeps its download history as annotations on the downloaded URL's ``moz_places`` row:
``downloads/destinationFileURI`` (a ``file:///`` URI; ``dateAdded`` in µs since 1970) and
``downloads/metaData`` (JSON: ``state``, ``endTime`` in ms, ``fileSize``, ``deleted``). Firefox records no
initiating page, so matching uses the download URL's host (a ``blob:https://host/…`` URL names the page's
origin). Only ``moz_annos``, ``moz_anno_attributes`` and the ``id``/``url`` of the annotated ``moz_places``
rows are read: never ``moz_historyvisits`` or the rest of ``moz_places``."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .backoffice import file_name_of
from .download import FIREFOX_STATES, Download, Window, unix_us_to_datetime
from .. import safeio
from .sqlite_ro import read_database, table_columns

DEST = "downloads/destinationFileURI"
META = "downloads/metaData"
ALLOWED = {
    "moz_annos": frozenset({"id", "place_id", "anno_attribute_id", "content", "dateadded"}),
    "moz_anno_attributes": frozenset({"id", "name"}),
    "moz_places": frozenset({"id", "url"}),
}


@dataclass
class FirefoxRead:
    rows: list[Download] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    how: str = ""
    wal_problem: str = ""  # the write-ahead log could not be used: the newest downloads may be missing
    note: str = ""


def file_uri_to_path(uri: str) -> str:
    """``file:///C:/Users/a/x.xlsx`` -> ``C:\\Users\\a\\x.xlsx``; ``file:///home/a/x`` -> ``/home/a/x``."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return ""
    if parts.scheme.lower() != "file":
        return ""
    path = unquote(parts.path)
    if re.match(r"^/[A-Za-z]:/", path):
        return path[1:].replace("/", "\\")
    if parts.netloc and parts.netloc.lower() != "localhost":  # file://server/share/x
        return "\\\\" + parts.netloc + path.replace("/", "\\")
    return path


def _read(con: sqlite3.Connection, window: Window, profile: str, os_user: str) -> FirefoxRead:
    out = FirefoxRead()
    for table in ALLOWED:
        if not table_columns(con, table):
            out.note = f"no {table} table"
            return out
    since = int(window.since.timestamp() * 1_000_000)
    until = int(window.until.timestamp() * 1_000_000)
    dest_rows = con.execute(
        "SELECT a.place_id, a.content, a.dateAdded, p.url FROM moz_annos a "
        "JOIN moz_anno_attributes n ON n.id = a.anno_attribute_id "
        "JOIN moz_places p ON p.id = a.place_id "
        "WHERE n.name = ? AND a.dateAdded >= ? AND a.dateAdded < ? ORDER BY a.dateAdded",
        (DEST, since, until)).fetchall()
    if not dest_rows:
        return out
    ids = [r[0] for r in dest_rows]
    meta: dict[int, dict] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for place_id, content in con.execute(
                "SELECT a.place_id, a.content FROM moz_annos a JOIN moz_anno_attributes n "
                f"ON n.id = a.anno_attribute_id WHERE n.name = ? AND a.place_id IN ({marks})", (META, *chunk)):
            try:
                value = json.loads(content or "{}")
            except ValueError:
                value = {}
            meta[place_id] = value if isinstance(value, dict) else {}
    for place_id, content, added, url in dest_rows:
        path = file_uri_to_path(content or "")
        m = meta.get(place_id, {})
        state = m.get("state")
        end_ms = m.get("endTime")
        size = m.get("fileSize")
        out.rows.append(Download(
            browser="firefox", profile=profile, os_user=os_user, key=f"place{place_id}@{added}",
            start=unix_us_to_datetime(added),
            end=unix_us_to_datetime(int(end_ms) * 1000) if isinstance(end_ms, (int, float)) else None,
            target_path=path, file_name=file_name_of(path) if path else "",
            state=FIREFOX_STATES.get(state, "unknown" if state is None else f"unknown({state})"),
            total_bytes=int(size) if isinstance(size, (int, float)) else None,
            deleted_by_browser=bool(m["deleted"]) if "deleted" in m else None,
            urls={"download_url": url},
        ))
    return out


def read_downloads(places: Path, window: Window, profile: str, os_user: str,
                   tree: safeio.Tree = safeio.LIVE) -> FirefoxRead:
    result, result.how, result.wal_problem = read_database(
        places, ALLOWED, lambda con: _read(con, window, profile, os_user), tree=tree)
    return result
