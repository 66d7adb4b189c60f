"""Version information of Windows executables (OriginalFilename, CompanyName, ProductName...), their
Authenticode signers (auditor.authenticode), and the Go/Rust build marks of Windows and Linux executables
(auditor.remote.build_marks), read in one pass over one bounded read, so a renamed copy of a remote-control tool is
still recognised, also when its version information was stripped or altered, or it never had any."""

from __future__ import annotations

import os
from functools import lru_cache

from .. import safeio
from ..authenticode import Signer, signers
from ..durable import sha256_stream
from .build_marks import BuildMarks, build_marks

MAX_PE_BYTES = 128 << 20  # read into memory whole (never memory-mapped: a user could truncate it under us)
KEYS = ("OriginalFilename", "CompanyName", "ProductName", "FileDescription", "InternalName", "FileVersion")


def _key(path: str) -> tuple[str, int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return path, st.st_size, int(st.st_mtime)


def version_info(path: str | None) -> dict[str, str]:
    """PE version strings of ``path``; {} for non-PE files, unreadable files or files without them. The path
    of a running process's executable can be swapped by its user for a FIFO or a link: it is opened through
    auditor.safeio (a regular file only, no user's link, bounded)."""
    return dict(_read(path)[0])


def signers_of(path: str | None) -> list[Signer]:
    """The Authenticode signers of ``path`` (unverified: they only ever name a tool), read as version_info reads."""
    return list(_read(path)[1])


def build_marks_of(path: str | None) -> BuildMarks:
    """The Go build info and Rust crate folders of a Windows (PE) or Linux (ELF) executable, read as version_info
    reads."""
    return _read(path)[2]


_NOTHING: tuple[tuple[tuple[str, str], ...], tuple[Signer, ...], BuildMarks] = ((), (), BuildMarks())


def _read(path: str | None) -> tuple[tuple[tuple[str, str], ...], tuple[Signer, ...], BuildMarks]:
    if not path:
        return _NOTHING
    key = _key(path)
    if key is None or key[1] > MAX_PE_BYTES or key[1] < 64:
        return _NOTHING
    return _cached(key)


@lru_cache(maxsize=4096)
def _cached(key: tuple[str, int, int]) -> tuple[tuple[tuple[str, str], ...], tuple[Signer, ...], BuildMarks]:
    path = key[0]
    try:
        with safeio.open_regular(path, max_size=MAX_PE_BYTES) as fh:
            magic = fh.read(4)
            if magic[:2] != b"MZ" and magic != b"\x7fELF":
                return _NOTHING
            data = magic + fh.read()
    except Exception:  # noqa: BLE001 - unreadable, swapped or over-size files are simply not matched
        return _NOTHING
    marks = _marks(data)
    if magic[:2] != b"MZ":
        return (), (), marks
    try:
        return _version_strings(data), tuple(signers(data)), marks
    except Exception:  # noqa: BLE001 - malformed PE files are common; they are simply not matched
        return (), (), marks


def _marks(data: bytes) -> BuildMarks:
    try:
        return build_marks(data)
    except Exception:  # noqa: BLE001 - a mark never makes a crafted file fail the read
        return BuildMarks()


def _version_strings(data: bytes) -> tuple[tuple[str, str], ...]:
    # deferred: pefile is needed only for executables
    import pefile

    # never pe.close(): parsed from bytes, it holds no file or mapping, and close() runs a full gc.collect()
    # (30 ms per executable under Wine)
    pe = pefile.PE(data=data, fast_load=True)
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


def sha256_file(path: str | None, limit: int = MAX_PE_BYTES) -> str | None:
    """SHA-256 of a regular file opened through auditor.safeio; None when it is not one, or larger than
    ``limit``."""
    if not path:
        return None
    try:
        with safeio.open_regular(path, max_size=limit) as fh:
            return sha256_stream(fh)
    except (OSError, ValueError):
        return None
