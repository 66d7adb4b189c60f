"""Every file and folder the agent writes for itself: owner-only, atomic, durable, hashed.

Reports, the incremental state, the quarantine, the schedule's reports and state, the fleet store and
inspector bundles are all written here. Owner-only is the default and holds from the first moment: a folder
is created with mode 0700 (on Windows an ACL for the owner, SYSTEM and Administrators, inherited by what is
created in it), a file is restricted while it is still an empty temporary file. A file is written to a
temporary file beside its place, fsynced, renamed over the place, and the folder is fsynced, so neither a crash
nor a power cut leaves half a file or loses the rename. ``mode`` gives a file that others must read (a systemd
unit) other permission bits instead."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterable

if sys.platform == "win32":
    from .adapters import winacl

CHUNK = 1 << 20
WINDOWS = sys.platform == "win32"


def restrict_to_owner(path: Path | str) -> None:
    """0600 (a file) or 0700 (a folder) on POSIX; on Windows an ACL for the owner, SYSTEM and Administrators
    (see adapters.winacl), inherited by what a folder will hold."""
    if WINDOWS:
        winacl.restrict_to_owner(Path(path))
    else:
        os.chmod(path, 0o700 if os.path.isdir(path) else 0o600)


def mkdir_private(path: Path | str, *, dir_fd: int | None = None) -> None:
    """Create one folder owner-only from its first moment: mode 0700 (``path`` relative to ``dir_fd`` when
    given), on Windows the owner-only ACL right after. FileExistsError when something is already there."""
    if dir_fd is None:
        os.mkdir(path, 0o700)
    else:
        os.mkdir(path, 0o700, dir_fd=dir_fd)
    if WINDOWS:
        try:
            restrict_to_owner(path)
        except OSError:
            pass  # a file system without ACLs (FAT): nothing can be restricted there


def make_dirs(path: Path | str) -> Path:
    """``path`` and its missing parents, each folder created here owner-only; folders that exist are left as
    they are."""
    path = Path(path)
    missing: list[Path] = []
    cur = path
    while not cur.is_dir():
        missing.append(cur)
        if cur.parent == cur:
            break
        cur = cur.parent
    for folder in reversed(missing):
        try:
            mkdir_private(folder)
        except FileExistsError:
            if not folder.is_dir():
                raise
    return path


def private_dir(path: Path | str) -> Path:
    """``path`` created as in :func:`make_dirs`, and made owner-only even when it existed already."""
    path = make_dirs(path)
    try:
        restrict_to_owner(path)
    except OSError:
        if not WINDOWS:
            raise
    return path


def private_temp_dir(prefix: str) -> str:
    """A new temporary folder only this account can read (mkdtemp is 0700 on POSIX; on Windows the ACL)."""
    path = tempfile.mkdtemp(prefix=prefix)
    if WINDOWS:
        try:
            restrict_to_owner(path)
        except OSError:
            pass
    return path


def fsync_dir(path: Path | str) -> None:
    """Make a rename or unlink inside ``path`` durable (a no-op where folders cannot be opened: Windows)."""
    if WINDOWS:
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


def sha256_file(path: Path | str) -> str:
    with open(path, "rb") as fh:
        return sha256_stream(fh)


def write_chunks(path: Path | str, chunks: Iterable[bytes], *, mode: int | None = None, private: bool | None = None,
                 tag: str = "auditor", before_replace: Callable[[], None] | None = None) -> int:
    """Stream ``chunks`` to a temporary file beside ``path`` (missing folders created owner-only), fsync it,
    rename it over ``path`` and fsync the folder. Returns the number of bytes written.

    The file is owner-only unless ``mode`` gives other POSIX permission bits (a unit file others read) or
    ``private=False`` says it is not ours (a user's file put back: on Windows it keeps the folder's inherited
    ACL). ``before_replace`` is called once the temporary file is complete and durable, just before the
    rename."""
    path = Path(path)
    parent = make_dirs(path.parent if str(path.parent) else Path("."))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".{tag}.tmp", dir=parent)  # created 0600
    size = 0
    try:
        if (mode is None) if private is None else private:
            # restricted while still empty: on Windows mkstemp's file has the folder's inherited ACL until now
            restrict_to_owner(tmp)
        elif mode is not None and not WINDOWS:
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
    fsync_dir(parent)
    return size


def write_bytes(path: Path | str, data: bytes, *, mode: int | None = None, tag: str = "auditor") -> int:
    """:func:`write_chunks` of one piece of data (owner-only unless ``mode`` says otherwise)."""
    return write_chunks(path, [data], mode=mode, tag=tag)
