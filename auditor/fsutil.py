"""Writing our own output files: owner-only, atomic, never world-readable even for a moment."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterable


def restrict_to_owner(path: Path) -> None:
    """0600 on POSIX; on Windows an ACL for the owner, SYSTEM and Administrators (see winacl)."""
    if sys.platform == "win32":
        from .adapters import winacl

        winacl.restrict_to_owner(path)
    else:
        os.chmod(path, 0o600)


def write_atomic(path: Path, chunks: Iterable[bytes], *, private: bool = True, mode: int | None = None,
                 tag: str = "tmp", before_replace: Callable[[], None] | None = None) -> int:
    """Stream ``chunks`` to a temporary file beside ``path``, fsync it, then rename it over ``path``.

    ``private``: owner-only (0600, or the owner/SYSTEM/Administrators ACL on Windows), applied while the file
    is still empty; ``mode``: POSIX permission bits otherwise; ``before_replace``: called once the temporary
    file is complete and durable, just before the rename. Returns the number of bytes written."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".{tag}", dir=parent)  # created 0600
    size = 0
    try:
        if private:
            # restricted while still empty: on Windows mkstemp's file has the folder's inherited ACL until now
            restrict_to_owner(Path(tmp))
        elif mode is not None and sys.platform != "win32":
            os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return size


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with owner-only permissions."""
    write_atomic(path, [data])
