"""Durable, owner-only file operations for the commands that change things (schedule, watch, remediate).

``fsutil.write_private`` writes one report atomically; these helpers add what a crash-safe procedure needs:
owner-only folders, fsync of the folder after a rename (so the rename itself survives a power cut), atomic
replacement of a file that keeps the file's own permissions, and hashing."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import IO, Callable, Iterable

from .fsutil import restrict_to_owner, write_atomic

CHUNK = 1 << 20


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it owner-only: 0700, or an owner/SYSTEM/Administrators ACL."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        try:
            restrict_to_owner(path)
        except OSError:
            pass
    else:
        os.chmod(path, 0o700)
    return path


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside ``path`` durable (a no-op where folders cannot be opened: Windows)."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_stream(fh: IO[bytes]) -> str:
    """SHA-256 of what is left to read in an open file."""
    h = hashlib.sha256()
    for chunk in iter(lambda: fh.read(CHUNK), b""):
        h.update(chunk)
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return sha256_stream(fh)


def write_chunks(path: Path, chunks: Iterable[bytes], mode: int | None = None, tag: str = "auditor",
                 private: bool = False, before_replace: Callable[[], None] | None = None) -> None:
    """fsutil.write_atomic, then fsync the folder so the rename itself survives a power cut."""
    write_atomic(Path(path), chunks, private=private, mode=mode, tag=f"{tag}.tmp", before_replace=before_replace)
    fsync_dir(Path(path).parent)


def write_bytes(path: Path, data: bytes, mode: int | None = None, private: bool = False, tag: str = "auditor") -> None:
    write_chunks(path, [data], mode=mode, private=private, tag=tag)


def copy_durable(src: Path, dest: Path, private: bool = False, mode: int | None = None, tag: str = "auditor",
                 before_replace: Callable[[], None] | None = None) -> str:
    """Copy ``src`` to ``dest`` through a fsynced temporary file and an atomic rename; returns the SHA-256 of
    what was written."""
    h = hashlib.sha256()

    def chunks(fh: IO[bytes]):
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
            yield chunk

    with open(src, "rb") as fh:
        write_chunks(dest, chunks(fh), mode=mode, private=private, tag=tag, before_replace=before_replace)
    return h.hexdigest()
