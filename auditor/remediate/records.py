"""What a valid quarantine journal entry and item record (meta.json) look like.

The quarantine is owner-only, but its files can still be damaged (a full disk, a crash of the disk itself, an
administrator's editor, a planted FIFO): every record is read bounded and checked field by field before any
step acts on it. A record that fails is :class:`Damaged` with the reason, and the caller sets it aside; it
never stops the other items."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

MAX_RECORD = 1 << 20  # a journal entry or meta.json is a few hundred bytes; a larger one is not ours
_HEX_ID = re.compile(r"[0-9a-f]{8,32}")
_SHA = re.compile(r"[0-9a-f]{64}")
_COPY_NAME = re.compile(r"(original|masked)(\.[0-9a-z]{1,8})?")

JOURNAL_STATES = {"mask": ("begin", "ready"), "restore": ("begin", "restored")}


class Damaged(ValueError):
    """A record that cannot be trusted; ``reason`` is shown in `auditor remediate list`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_item_id(text: str) -> bool:
    return bool(_HEX_ID.fullmatch(text))


def _load(raw: bytes, what: str) -> dict[str, Any]:
    if len(raw) > MAX_RECORD:
        raise Damaged(f"{what} too large ({len(raw)} bytes)")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Damaged(f"{what} is not UTF-8 text") from None
    except RecursionError:
        raise Damaged(f"{what} is nested too deeply") from None
    except ValueError as exc:
        raise Damaged(f"{what} is not valid JSON ({str(exc).split(':')[0]})") from None
    if not isinstance(data, dict):
        raise Damaged(f"{what} is not a JSON object")
    return data


def _field(data: dict[str, Any], key: str, kinds: tuple[type, ...], what: str, required: bool = True) -> Any:
    if key not in data or data[key] is None:
        if required:
            raise Damaged(f"{what}: {key} missing")
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise Damaged(f"{what}: {key} has the wrong type ({type(value).__name__})")
    return value


def _path(data: dict[str, Any], what: str) -> str:
    path = _field(data, "path", (str,), what)
    absolute = re.match(r"[A-Za-z]:[\\/]|\\\\", path) if sys.platform == "win32" else path.startswith("/")
    if "\0" in path or not absolute:
        raise Damaged(f"{what}: path is not an absolute path")
    try:
        os.fsencode(path)
    except UnicodeError:
        raise Damaged(f"{what}: path cannot be a file name on this system") from None
    return path


def _sha(data: dict[str, Any], key: str, what: str, required: bool = True) -> str | None:
    value = _field(data, key, (str,), what, required)
    if value is not None and not _SHA.fullmatch(value):
        raise Damaged(f"{what}: {key} is not a SHA-256 digest")
    return value


def _identity(data: dict[str, Any], what: str) -> None:
    """The parent folder's device and inode (recorded since the identity checks; absent in older records)."""
    ident = data.get("parent")
    if ident is None:
        return
    if (not isinstance(ident, list) or len(ident) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 64 for v in ident)):
        raise Damaged(f"{what}: parent is not a [device, inode] pair")


def parse_journal(raw: bytes, qid: str) -> dict[str, Any]:
    """The journal entry of operation ``qid``, checked; Damaged otherwise."""
    what = "journal"
    data = _load(raw, what)
    if _field(data, "id", (str,), what) != qid:
        raise Damaged(f"{what}: id does not match its file name")
    op = _field(data, "op", (str,), what)
    if op not in JOURNAL_STATES:
        raise Damaged(f"{what}: unknown operation")
    if _field(data, "state", (str,), what) not in JOURNAL_STATES[op]:
        raise Damaged(f"{what}: unknown state of {op}")
    _path(data, what)
    _sha(data, "orig_sha256", what)
    _sha(data, "masked_sha256", what, required=op == "restore" or data["state"] == "ready")
    _identity(data, what)
    return data


def parse_meta(raw: bytes, qid: str) -> dict[str, Any]:
    """The record of quarantined item ``qid``, checked; Damaged otherwise."""
    what = "meta.json"
    data = _load(raw, what)
    if _field(data, "id", (str,), what) != qid:
        raise Damaged(f"{what}: id does not match its folder")
    _path(data, what)
    for key in ("original", "masked"):
        name = _field(data, key, (str,), what)
        if not _COPY_NAME.fullmatch(name) or not name.startswith(key):
            raise Damaged(f"{what}: {key} is not a copy's file name")
    _sha(data, "orig_sha256", what)
    _sha(data, "masked_sha256", what)
    for key in ("size", "mtime_ns", "mode", "rows_changed", "cells_changed"):
        value = _field(data, key, (int,), what, required=key in ("mode", "mtime_ns"))
        if value is not None and (key != "mtime_ns" and value < 0 or abs(value) >= 1 << 63):
            raise Damaged(f"{what}: {key} is out of range")
    if data["mode"] > 0o7777:
        raise Damaged(f"{what}: mode is not a permission mode")
    for key in ("uid", "gid"):
        value = _field(data, key, (int,), what, required=False)
        if value is not None and not 0 <= value < 1 << 32:
            raise Damaged(f"{what}: {key} is out of range")
    for key in ("masked_at", "format", "name"):
        _field(data, key, (str,), what, required=False)
    if not isinstance(data.get("columns", []), list):
        raise Damaged(f"{what}: columns is not a list")
    _identity(data, what)
    data.setdefault("masked_at", "")
    data.setdefault("format", "")
    data.setdefault("rows_changed", 0)
    return data
