"""Finding a reported file again without the report naming it.

A file finding's evidence shows the path masked (``display_path``), which is not always the path on disk: a
number in the name is masked, a GBK name is shown decoded. The finding therefore carries a ``locator``:

* ``{"path_hex": …}`` — the path's raw bytes (hex) when its shown form holds no personal data: the exact file,
  whatever its encoding or characters (a GBK name, a Linux name holding ``\\``);
* ``{"masked_path": …, "size": …, "sha256": …}`` otherwise: found again by walking the masked components
  (each folder entry shown and masked the same way must equal the component; several may) and keeping the
  files of that size and SHA-256 — the report never holds the name, yet the very file is found;
* ``{"archive_member": true, …}`` for a file inside an archive (the container's locator, no hash).

Hex, not base64: the report guard leaves all-hex strings alone (digests), and base64 text could hold eleven
digits in a row that look like a mobile."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import safeio
from ..durable import sha256_stream
from .textpath import WINDOWS, display_path, shown_name, split_shown

MAX_CANDIDATES = 64  # folders or files per component that match a masked name


def make(path: Path, *, member: bool = False, size: int | None = None, sha256: str | None = None
         ) -> dict[str, Any]:
    """The locator of ``path`` (an archive's path for a member)."""
    raw = os.fsencode(path)
    loc: dict[str, Any] = {"archive_member": True} if member else {}
    shown = display_path(raw)
    if shown == display_path(raw, masked=False):
        loc["path_hex"] = raw.hex()
        return loc
    loc["masked_path"] = shown
    if not member:
        loc.update(size=size, sha256=sha256)
    return loc


def resolve(loc: Any) -> tuple[list[Path], str | None]:
    """(the files the locator names, why none was found). Several only when identical copies lie under names
    that mask the same way."""
    if not isinstance(loc, dict):
        return [], "no locator in the report"
    if loc.get("archive_member"):
        return [], "a file inside an archive"
    if isinstance(loc.get("path_hex"), str):
        try:
            return [Path(os.fsdecode(bytes.fromhex(loc["path_hex"])))], None
        except ValueError:
            return [], "the report's locator is damaged"
    masked = loc.get("masked_path")
    if not isinstance(masked, str) or not masked:
        return [], "the report's locator is damaged"
    size, digest = loc.get("size"), loc.get("sha256")
    if not isinstance(size, int) or not isinstance(digest, str):
        return [], "the report's locator has no size and SHA-256 to recognise the file by"
    places = _walk_masked(masked, size)
    if not places:
        return [], "no file at the reported place (moved, renamed or deleted since the scan)"
    found = [p for p in places if _sha256(p, size) == digest.lower()]
    if not found:
        return [], "the file at the reported place changed since the scan (SHA-256 differs): scan again"
    return found, None


def _walk_masked(masked: str, size: int) -> list[Path]:
    parts = split_shown(masked)
    if WINDOWS:
        if not parts or not parts[0].endswith(":"):
            return []
        frontier, rest = [Path(parts[0] + "\\")], parts[1:]
    else:
        if not parts or parts[0] != "":
            return []  # only absolute paths are reported
        frontier, rest = [Path("/")], parts[1:]
    rest = [p for p in rest if p not in ("", ".")]
    if not rest or ".." in rest:
        return []
    for i, comp in enumerate(rest):
        last = i == len(rest) - 1
        nxt: list[Path] = []
        for folder in frontier:
            try:
                entries = safeio.LIVE.listdir(folder)  # no user's link followed on the way
            except OSError:
                continue
            for e in entries:
                if e.kind != ("file" if last else "dir") or (last and e.size != size):
                    continue
                if shown_name(e.name) == comp:
                    nxt.append(e.path)
        frontier = nxt[:MAX_CANDIDATES]
        if not frontier:
            return []
    return frontier


def _sha256(path: Path, size: int) -> str | None:
    try:
        with safeio.open_regular(path, max_size=size) as fh:
            return sha256_stream(fh)
    except OSError:
        return None
