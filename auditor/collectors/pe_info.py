"""Version information of Windows executables (OriginalFilename, CompanyName, ProductName...), read with
pefile, so a renamed copy of a remote-control tool is still recognised."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache

MAX_PE_BYTES = 256 << 20
KEYS = ("OriginalFilename", "CompanyName", "ProductName", "FileDescription", "InternalName", "FileVersion")


def _key(path: str) -> tuple[str, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return path, st.st_size, int(st.st_mtime)


def version_info(path: str | None) -> dict[str, str]:
    """PE version strings of ``path``; {} for non-PE files, unreadable files or files without them."""
    if not path:
        return {}
    key = _key(path)
    if key is None or key[1] > MAX_PE_BYTES or key[1] < 64:
        return {}
    return dict(_cached(key))


@lru_cache(maxsize=4096)
def _cached(key: tuple[str, int, int]) -> tuple[tuple[str, str], ...]:
    path = key[0]
    try:
        with open(path, "rb") as fh:
            if fh.read(2) != b"MZ":
                return ()
        import pefile

        pe = pefile.PE(path, fast_load=True)
        try:
            pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
            found: dict[str, str] = {}
            for info in getattr(pe, "FileInfo", None) or []:
                for entry in info:
                    for table in getattr(entry, "StringTable", []) or []:
                        for k, v in table.entries.items():
                            name = k.decode("utf-8", "replace")
                            if name in KEYS and name not in found:
                                found[name] = v.decode("utf-8", "replace").strip("\x00 ").strip()
            return tuple(sorted(found.items()))
        finally:
            pe.close()
    except Exception:  # noqa: BLE001 - malformed PE files are common; they are simply not matched
        return ()


def sha256_file(path: str | None, limit: int = MAX_PE_BYTES) -> str | None:
    if not path:
        return None
    try:
        if os.path.getsize(path) > limit:
            return None
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None
