"""The parsed-pack cache: the TOML files of one pack folder (the ~200 files of the remote-tool catalog, the text
catalogs) parsed once and kept as JSON in the agent's own data place, so that a start does not parse them again.

Parsing is most of a short scan's start under Wine; reading the files' bytes and hashing them is not. The cache
holds what the TOML parser returned (plain data: tables, arrays, strings, numbers, dates), never validated
objects: every caller validates the data as it always does, cached or not, so the cache cannot change what a
pack means.

* **Key:** SHA-256 of the cache format, the agent's version, the folder (inside a frozen agent: relative to its
  bundle, which a one-file exe unpacks anew at every start) and every file's name and bytes. A pack file edited,
  added or removed, another folder (``AUDITOR_CHECKS_DIR``) or another version is a new key: the cache is
  rebuilt.
* **Trust:** the file lies in ``paths.pack_cache_dir()`` (inside the state folder: the machine's protected
  folder, or the user's own), is opened through ``safeio`` (a regular file, no user's link, bounded) and on
  POSIX must be owned by the account the agent runs as and writable by nobody else. Its body carries its own
  SHA-256. A cache that is missing, foreign, loose, corrupt, of another key or unreadable is ignored and
  rebuilt silently; a cache that cannot be written (read-only place) is simply not kept.
* **Format:** JSON (never pickle): one header line ``{"format", "key", "sha256"}``, then the body, the parsed
  files by name. TOML dates and times become ``{"\\u0000toml": "date", "v": "2026-12-05"}``; a pack whose own
  table has that key is not cached (parsed every time, as without the cache).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from . import __version__, safeio
from .durable import write_bytes
from .errors import PackError
from .paths import pack_cache_dir, prepare

FORMAT = 1
MAX_CACHE = 32 << 20  # the whole catalog is ~0.5 MB as JSON
_TAG = "\x00toml"
_TIME_TYPES: dict[str, Callable[[str], Any]] = {
    "datetime": dt.datetime.fromisoformat, "date": dt.date.fromisoformat, "time": dt.time.fromisoformat}
WINDOWS = sys.platform == "win32"


class _Uncachable(Exception):
    """Data the JSON form cannot carry unambiguously (a table with the tag key)."""


def load(kind: str, folder: Path, names: Sequence[str], parse: Callable[[bytes, Path], Any]) -> dict[str, Any]:
    """``{name: parse(bytes, folder / name)}`` for the files ``names`` of ``folder``, from the cache ``kind``
    when it holds exactly these bytes, else parsed (and the cache rewritten). ``parse`` raises for a bad file:
    nothing is cached then."""
    sources = {name: _read_pack(folder / name) for name in names}
    key = _key(folder, sources)
    place = pack_cache_dir() / f"{kind}.json"
    cached = _read(place, key)
    if cached is not None and set(cached) == set(sources):
        return cached
    parsed = {name: parse(data, folder / name) for name, data in sources.items()}
    _write(place, key, parsed)
    return parsed


def _read_pack(path: Path) -> bytes:
    try:
        return path.read_bytes()  # the agent's own pack (its install folder or AUDITOR_*_DIR), not a found file
    except OSError as exc:
        raise PackError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _key(folder: Path, sources: dict[str, bytes]) -> str:
    h = hashlib.sha256(f"{FORMAT}\0{__version__}\0{_named(folder)}\0".encode("utf-8", "surrogateescape"))
    for name, data in sources.items():
        h.update(name.encode("utf-8", "surrogateescape") + b"\0" + len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _named(folder: Path) -> str:
    """The folder as the key names it. Inside the frozen agent's own bundle it is named relative to the bundle: the
    one-file exe unpacks to a new %TEMP% folder at every start, and its packs are those of the installed agent."""
    path = os.path.abspath(folder)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        rel = os.path.relpath(path, bundle) if os.path.splitdrive(path)[0] == os.path.splitdrive(bundle)[0] else ".."
        if rel != ".." and not rel.startswith(".." + os.sep):
            return f"<bundle>{os.sep}{rel}"
    return path


# --------------------------------------------------------------------------- reading: any doubt is a miss

def _read(place: Path, key: str) -> dict[str, Any] | None:
    try:
        with safeio.open_regular(place, max_size=MAX_CACHE) as fh:
            if not _ours(os.fstat(fh.fileno())):
                return None
            raw = fh.read()
    except OSError:
        return None
    head, _, body = raw.partition(b"\n")
    try:
        header = json.loads(head)
        if (not isinstance(header, dict) or header.get("format") != FORMAT or header.get("key") != key
                or header.get("sha256") != hashlib.sha256(body).hexdigest()):
            return None
        data = json.loads(body, object_hook=_decode)
    except (ValueError, TypeError, OverflowError):
        return None
    return data if isinstance(data, dict) else None


def _ours(st: os.stat_result) -> bool:
    """Written by the account the agent runs as and by nobody else (on Windows the folder's owner-only ACL,
    checked by ``paths.prepare`` for the machine's folder, is the guard)."""
    if WINDOWS or not hasattr(os, "geteuid"):
        return stat.S_ISREG(st.st_mode)
    return st.st_uid == os.geteuid() and not stat.S_IMODE(st.st_mode) & 0o022


def _decode(obj: dict[str, Any]) -> Any:
    if _TAG in obj:
        kind, value = obj.get(_TAG), obj.get("v")
        if len(obj) != 2 or kind not in _TIME_TYPES or not isinstance(value, str):
            raise ValueError("malformed date in the cache")
        return _TIME_TYPES[kind](value)
    return obj


# --------------------------------------------------------------------------- writing: best effort

def _write(place: Path, key: str, parsed: dict[str, Any]) -> None:
    try:
        body = json.dumps(_encode(parsed), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (_Uncachable, ValueError, TypeError):
        return
    header = json.dumps({"format": FORMAT, "key": key, "sha256": hashlib.sha256(body).hexdigest()})
    try:
        prepare(place.parent)
        write_bytes(place, header.encode("ascii") + b"\n" + body, tag="packcache")
    except OSError:
        pass  # a read-only or full place: the packs are parsed at every start, as without a cache


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        if _TAG in value:
            raise _Uncachable(_TAG)
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dt.datetime):  # before date: a datetime is a date
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {_TAG: "time", "v": value.isoformat()}
    return value
