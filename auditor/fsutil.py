"""Writing our own output files: owner-only, atomic, never world-readable even for a moment."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def restrict_to_owner(path: Path) -> None:
    """0600 on POSIX; on Windows an ACL for the owner, SYSTEM and Administrators (see winacl)."""
    if sys.platform == "win32":
        from .adapters import winacl

        winacl.restrict_to_owner(path)
    else:
        os.chmod(path, 0o600)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with owner-only permissions."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)  # created 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        restrict_to_owner(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
