"""The agent's own cache files (the parsed-pack cache, the executable facts cache): one file of entries that a
start reads whole, trusted only when it is the agent's own and intact, and otherwise simply not used.

* **Format:** a header line ``{"format": FORMAT, "sha256": HEX}`` (the SHA-256 of the body), then one line per
  entry: the JSON of its name, a tab, its key (ASCII), a tab, its data (compact JSON, which escapes every tab and
  newline inside strings: a line and its tabs are the format's own). JSON, never pickle.
* **Trust:** opened through ``safeio`` (a regular file, no user's link, at most ``max_size``); on POSIX it must be
  owned by the account the agent runs as and writable by nobody else (on Windows the owner-only ACL of the folder,
  set by ``paths.prepare``, is the guard). A file that is missing, foreign, loose, corrupt, of another format or
  unreadable reads as no entries at all.
* **Writing** is best effort (``durable.write_bytes``: owner-only, atomic): a place that cannot be written keeps no
  cache, which only costs time.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from . import safeio
from .durable import write_bytes
from .paths import prepare

WINDOWS = sys.platform == "win32"
Entries = dict[str, tuple[str, bytes]]  # name -> (key, data as JSON bytes)

_read_once: dict[str, tuple[tuple[Any, ...], Entries]] = {}  # place -> (the file as stat() saw it, its entries)


def read(place: Path, fmt: Any, max_size: int) -> Entries:
    """The entries of the cache file ``place`` ({} when it cannot be trusted or read), read once per process and
    again only when the file changed."""
    try:
        st = os.stat(place)
    except OSError:
        return {}
    seen = (fmt, st.st_ino, st.st_size, st.st_mtime_ns)
    memo = _read_once.get(str(place))
    if memo is None or memo[0] != seen:
        memo = (seen, _read(place, fmt, max_size))
        _read_once[str(place)] = memo
    return memo[1]


def _read(place: Path, fmt: Any, max_size: int) -> Entries:
    try:
        with safeio.open_regular(place, max_size=max_size) as fh:
            if not _ours(os.fstat(fh.fileno())):
                return {}
            raw = fh.read()
    except OSError:
        return {}
    head, _, body = raw.partition(b"\n")
    entries: Entries = {}
    try:
        header = json.loads(head)
        if (not isinstance(header, dict) or header.get("format") != fmt
                or header.get("sha256") != hashlib.sha256(body).hexdigest()):
            return {}
        for line in body.split(b"\n"):
            name, key, data = line.split(b"\t", 2)
            kind = json.loads(name)
            if not isinstance(kind, str):
                return {}
            entries[kind] = (key.decode("ascii"), data)
    except (ValueError, TypeError, UnicodeDecodeError):
        return {}
    return entries


def _ours(st: os.stat_result) -> bool:
    """Written by the account the agent runs as and by nobody else (on Windows the folder's owner-only ACL,
    checked by ``paths.prepare`` for the machine's folder, is the guard)."""
    if WINDOWS or not hasattr(os, "geteuid"):
        return stat.S_ISREG(st.st_mode)
    return st.st_uid == os.geteuid() and not stat.S_IMODE(st.st_mode) & 0o022


def write(place: Path, fmt: Any, entries: Entries, tag: str) -> bool:
    """Replace the cache file ``place`` with ``entries``; False when the place cannot be written."""
    body = b"\n".join(json.dumps(name).encode("ascii") + b"\t" + key.encode("ascii") + b"\t" + data
                      for name, (key, data) in entries.items())
    header = json.dumps({"format": fmt, "sha256": hashlib.sha256(body).hexdigest()})
    try:
        prepare(place.parent)
        write_bytes(place, header.encode("ascii") + b"\n" + body, tag=tag)
        st = os.stat(place)
    except OSError:
        return False
    _read_once[str(place)] = ((fmt, st.st_ino, st.st_size, st.st_mtime_ns), dict(entries))
    return True
