"""The parsed-pack cache: the TOML files of the data packs (the ~200 files of the remote-tool catalog, the rules, the
text catalogs…) parsed once and kept as JSON in the agent's own data place, so that a start does not parse them
again.

Parsing is most of a short scan's start; under Wine so is opening files (about 3 ms each): a start with the cache
lists each pack folder once, opens one cache file and decodes the entries it needs. The cache holds what the TOML
parser returned (plain data: tables, arrays, strings, numbers, dates), never validated objects: every caller
validates the data as it always does, cached or not, so the cache cannot change what a pack means.

* **Key** of each entry (one per pack file, or per folder for the catalog): SHA-256 of the cache format, the agent's
  version, the folder (inside a frozen agent: relative to its bundle, which a one-file exe unpacks anew at every
  start) and every file's name, size and modification time as the folder listing gives them (no file is opened
  to check the cache). The frozen agent's own packs are unpacked anew by a one-file exe at every start: there the
  executable's size and time stand for the files' times, and each executable keeps its own entries. A pack file edited, added or removed, another folder (``AUDITOR_CHECKS_DIR``) or another
  version is a new key: that entry is rebuilt. (An edit that keeps a file's size and puts its modification time
  back is not seen: only whoever may write the packs can make one.)
* **Trust:** one file, ``packs.json`` in ``paths.pack_cache_dir()`` (inside the state folder: the machine's
  protected folder, or the user's own), read and written by ``auditor.cachefile`` (through ``safeio``, checksummed,
  on POSIX owned by the agent's account and writable by nobody else). A cache that is missing, foreign, loose,
  corrupt or unreadable is ignored as a whole, an entry of another key or that does not decode is rebuilt,
  silently; a cache that cannot be written (read-only place) is simply not kept.
* **Format:** ``auditor.cachefile``'s lines (JSON, never pickle); an entry's data is the JSON of the parsed files
  by name. TOML dates and times become
  ``{"\\u0000toml": "date", "v": "2026-12-05"}``; a pack whose own table has that key is not cached (parsed every
  time, as without the cache).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from . import __version__, cachefile
from .cachefile import Entries
from .errors import PackError
from .messages import os_error
from .paths import pack_cache_dir

FORMAT = 2
CACHE_FILE = "packs.json"
MAX_CACHE = 32 << 20  # every pack together is ~0.6 MB as JSON
_TAG = "\x00toml"
_TIME_TYPES: dict[str, Callable[[str], Any]] = {
    "datetime": dt.datetime.fromisoformat, "date": dt.date.fromisoformat, "time": dt.time.fromisoformat}


class _Uncachable(Exception):
    """Data the JSON form cannot carry unambiguously (a table with the tag key)."""


def load(kind: str, folder: Path, names: Sequence[str], parse: Callable[[bytes, Path], Any]) -> dict[str, Any]:
    """``{name: parse(bytes, folder / name)}`` for the files ``names`` of ``folder``, from the cache entry ``kind``
    when it was made from these files as they are, else parsed (and the entry rewritten). ``parse`` raises for a
    bad file: nothing is cached then."""
    stamps = _stamps(folder, names)
    if stamps is None:  # a file missing or the folder unlistable: read as without a cache (its own error)
        return {name: parse(_read_pack(folder / name), folder / name) for name in names}
    key = _key(folder, stamps)
    if _in_bundle(folder):
        kind = f"{kind}@{sys.executable}"  # the one-file exe and the installed agent each keep their own
    place = pack_cache_dir() / CACHE_FILE
    entries = cachefile.read(place, FORMAT, MAX_CACHE)
    if kind in entries and entries[kind][0] == key:
        try:
            data = json.loads(entries[kind][1], object_hook=_decode)
        except (ValueError, TypeError, OverflowError):
            data = None
        if isinstance(data, dict) and set(data) == set(names):
            return data
    parsed = {name: parse(_read_pack(folder / name), folder / name) for name in names}
    _store(place, entries, kind, key, parsed)
    return parsed


def _stamps(folder: Path, names: Sequence[str]) -> list[tuple[str, int, int]] | None:
    """(name, size, mtime_ns) of each file, from one listing of the folder (on Windows without opening a file)."""
    wanted = set(names)
    try:
        with os.scandir(folder) as listing:
            found = {entry.name: entry.stat() for entry in listing if entry.name in wanted}
    except OSError:
        return None
    if set(found) != wanted:
        return None
    if _in_bundle(folder):
        # the frozen agent's own packs: a one-file exe unpacks them anew (new times) at every start; they change
        # only with the executable, whose size and time stand for them
        try:
            exe = os.stat(sys.executable)
        except OSError:
            return None
        return [(name, found[name].st_size, 0) for name in names] + [("", exe.st_size, exe.st_mtime_ns)]
    return [(name, found[name].st_size, found[name].st_mtime_ns) for name in names]


def _read_pack(path: Path) -> bytes:
    try:
        return path.read_bytes()  # the agent's own pack (its install folder or AUDITOR_*_DIR), not a found file
    except OSError as exc:
        raise PackError("pack.cannot_read", path=path, why=os_error(exc)) from None


def _key(folder: Path, stamps: list[tuple[str, int, int]]) -> str:
    h = hashlib.sha256(f"{FORMAT}\0{__version__}\0{_named(folder)}\0".encode("utf-8", "surrogateescape"))
    for name, size, mtime_ns in stamps:
        h.update(f"{name}\0{size}\0{mtime_ns}\0".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _named(folder: Path) -> str:
    """The folder as the key names it. Inside the frozen agent's own bundle it is named relative to the bundle: the
    one-file exe unpacks to a new %TEMP% folder at every start."""
    rel = _in_bundle(folder)
    return f"<bundle>{os.sep}{rel}" if rel else os.path.abspath(folder)


def _in_bundle(folder: Path) -> str | None:
    """``folder`` relative to the frozen agent's bundle (PyInstaller's ``sys._MEIPASS``), or None."""
    bundle = getattr(sys, "_MEIPASS", None)
    if not bundle:
        return None
    path = os.path.abspath(folder)
    if os.path.splitdrive(path)[0].lower() != os.path.splitdrive(bundle)[0].lower():
        return None
    rel = os.path.relpath(path, bundle)
    return None if rel == ".." or rel.startswith(".." + os.sep) else rel


# --------------------------------------------------------------------------- reading: any doubt is a miss

def _decode(obj: dict[str, Any]) -> Any:
    if _TAG in obj:
        kind, value = obj.get(_TAG), obj.get("v")
        if len(obj) != 2 or kind not in _TIME_TYPES or not isinstance(value, str):
            raise ValueError("malformed date in the cache")
        return _TIME_TYPES[kind](value)
    return obj


# --------------------------------------------------------------------------- writing: best effort

def _store(place: Path, entries: Entries, kind: str, key: str, parsed: dict[str, Any]) -> None:
    try:
        data = json.dumps(_encode(parsed), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (_Uncachable, ValueError, TypeError):
        return
    # a read-only or full place keeps no cache: the packs are parsed at every start, as without one
    cachefile.write(place, FORMAT, {**entries, kind: (key, data)}, tag="packcache")


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
