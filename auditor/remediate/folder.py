"""A user's folder, held while the agent writes in it as root.

Masking and restoring replace files in folders that ordinary users own. Between two steps such a user can
rename the folder away and put a symbolic link to a root-only folder in its place: a rename done by path would
then leave a user's file in that root-only folder. So the folder is opened once through safeio (no user's link
followed on the way) and every create, rename and unlink is done relative to that descriptor (POSIX
``dir_fd``, ``O_NOFOLLOW``, ownership and mode set on the open file, never by path). Before each rename the path
is looked up again and must still lead to the very same folder (device and inode), else the step is refused
with :class:`FolderChanged` and nothing is renamed. On Windows, where folders have no descriptors, the folder
must not be a reparse point and must keep the same file id before and after each step."""

from __future__ import annotations

import os
import secrets
import stat
import sys
import time
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from .. import safeio
from ..durable import fsync_dir, sha256_stream, write_chunks
from ..files.textpath import display_path
from ..messages import Text, Worded
from ..safeio import OpenDir, Refused

WINDOWS = sys.platform == "win32"
_O_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_O_NEW = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
          | getattr(os, "O_BINARY", 0))
_REPARSE = 0x400
MAX_DEPTH = 4096


class FolderChanged(Exception):
    """The folder is no longer the one the operation started in (or the one recorded when the file was
    masked); nothing was renamed there. The message is a messages.Text (English as ``str``)."""

    def __init__(self, message: Text) -> None:
        super().__init__(message)
        self.message = message


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def temp_prefix(name: str) -> str:
    """The start of our temporary files beside ``name`` (short enough for any file-name limit)."""
    return "." + os.fsdecode(os.fsencode(name)[:96])


def is_our_temp(entry_name: str, name: str) -> bool:
    return (entry_name.startswith(temp_prefix(name)) and entry_name.endswith(".tmp")
            and ".auditor-" in entry_name)


def _set_on_fd(fd: int, mode: int | None, owner: tuple[int, int] | None, mtime_ns: int | None) -> None:
    """Owner (as root only), permission bits (never set-id bits) and mtime of an open file."""
    if owner is not None and _is_root():
        os.fchown(fd, *owner)
    if mode is not None:
        os.fchmod(fd, mode & 0o777)
    if mtime_ns is not None:
        os.utime(fd, ns=(time.time_ns(), mtime_ns))


class Folder:
    def __init__(self, path: Path, od: OpenDir) -> None:
        self.path = Path(path)
        self.od = od

    @property
    def shown(self) -> str:
        return display_path(self.path)

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: Path) -> "Folder":
        """The folder at ``path`` (absolute), reached without following a user's link. Raises Refused (a
        user's link, not a folder) or OSError (FileNotFoundError when it is not there)."""
        return cls(path, OpenDir.open(Path(path)))

    @classmethod
    def make(cls, path: Path, owner: tuple[int, int] | None) -> "Folder":
        """The folder at ``path``, created (owner-only, given to ``owner``) where it is missing, each new
        folder made relative to its parent's descriptor."""
        missing: list[str] = []
        cur = Path(path)
        while True:
            try:
                od = OpenDir.open(cur)
                break
            except FileNotFoundError:
                if cur.parent == cur or len(missing) > MAX_DEPTH:
                    raise
                missing.append(cur.name)
                cur = cur.parent
        try:
            for name in reversed(missing):
                nxt = od.path / name
                if od.fd is None:
                    os.mkdir(nxt, 0o700)
                    new = OpenDir.open(nxt)
                else:
                    os.mkdir(name, 0o700, dir_fd=od.fd)
                    fd = os.open(name, _O_DIR, dir_fd=od.fd)
                    if owner is not None and _is_root():
                        os.fchown(fd, *owner)
                    new = OpenDir(fd, nxt, os.fstat(fd))
                od.close()
                od = new
        except BaseException:
            od.close()
            raise
        return cls(path, od)

    @property
    def identity(self) -> tuple[int, int]:
        return self.od.dev, self.od.ino

    def close(self) -> None:
        self.od.close()

    def __enter__(self) -> "Folder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ identity
    def verify(self, recorded: list[int] | tuple[int, int] | None) -> None:
        """FolderChanged when this is not the folder recorded earlier (None: nothing recorded)."""
        if recorded is not None and tuple(recorded) != self.identity:
            raise FolderChanged(Text("remediate.folder.not_the_one", folder=self.shown))

    def still_there(self) -> None:
        """FolderChanged unless the path still leads, without a user's link, to this very folder."""
        try:
            now = OpenDir.open(self.path)
        except Refused as exc:
            raise FolderChanged(Text("remediate.folder.replaced_because", folder=self.shown,
                                     why=Worded(exc.reason))) from None
        except OSError as exc:
            raise FolderChanged(Text("remediate.folder.gone", folder=self.shown,
                                     why=Worded(safeio.reason_of(exc)))) from None
        try:
            same = (now.dev, now.ino) == self.identity
        finally:
            now.close()
        if not same:
            raise FolderChanged(Text("remediate.folder.replaced", folder=self.shown))

    def within(self, ident: tuple[int, int]) -> bool:
        """Whether this folder is the folder ``ident`` (device, inode) or lies anywhere below it."""
        if self.od.fd is None:
            for p in (self.path, *self.path.parents):
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) == ident:
                    return True
            return False
        cur = os.dup(self.od.fd)
        try:
            for _ in range(MAX_DEPTH):
                st = os.fstat(cur)
                if (st.st_dev, st.st_ino) == ident:
                    return True
                up = os.open("..", _O_DIR, dir_fd=cur)
                ust = os.fstat(up)
                os.close(cur)
                cur = up
                if (ust.st_dev, ust.st_ino) == (st.st_dev, st.st_ino):
                    return False
            return False
        finally:
            os.close(cur)

    # ------------------------------------------------------------------ reading
    def entry(self, name: str) -> safeio.Entry | None:
        try:
            return self.od.entry(name)
        except FileNotFoundError:
            return None

    def open_file(self, name: str, entry: safeio.Entry | None = None, max_size: int | None = None) -> BinaryIO:
        """The regular file ``name`` of this folder (no link followed, a FIFO refused without blocking)."""
        entry = entry or self.od.entry(name)
        return self.od.open_file(entry, max_size=max_size)

    def sha256(self, name: str) -> str | None:
        """SHA-256 of the file ``name``; None when there is none. Refused when it is not a regular file."""
        entry = self.entry(name)
        if entry is None:
            return None
        try:
            with self.open_file(name, entry) as fh:
                return sha256_stream(fh)
        except FileNotFoundError:
            return None

    # ------------------------------------------------------------------ writing
    def replace(self, name: str, chunks: Iterable[bytes], *, mode: int | None, owner: tuple[int, int] | None = None,
                mtime_ns: int | None = None, tag: str = "auditor",
                before_replace: Callable[[], None] | None = None) -> None:
        """Write ``chunks`` to a new temporary file in this folder, give it its owner, mode and mtime, fsync it,
        check the folder is still the same one, then rename it over ``name``. On any failure the temporary
        file is removed and ``name`` is left as it was."""
        if self.od.fd is None:
            self._replace_by_path(name, chunks, mode, mtime_ns, tag, before_replace)
            return
        dfd = self.od.fd
        tmp = f"{temp_prefix(name)}.{secrets.token_hex(4)}.{tag}.tmp"
        fd = os.open(tmp, _O_NEW, 0o600, dir_fd=dfd)
        try:
            try:
                for chunk in chunks:
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
                _set_on_fd(fd, mode, owner, mtime_ns)
                os.fsync(fd)
            finally:
                os.close(fd)
            if before_replace is not None:
                before_replace()
            self.still_there()
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise
        os.fsync(dfd)

    def _replace_by_path(self, name: str, chunks: Iterable[bytes], mode: int | None, mtime_ns: int | None, tag: str,
                         before_replace: Callable[[], None] | None) -> None:
        self.still_there()

        def last_checks() -> None:
            if before_replace is not None:
                before_replace()
            self.still_there()

        dest = self.path / name
        write_chunks(dest, chunks, private=False, tag=tag, before_replace=last_checks)
        if mtime_ns is not None:
            try:
                os.utime(dest, ns=(time.time_ns(), mtime_ns))
            except OSError:
                pass

    def set_metadata(self, name: str, *, mode: int | None, owner: tuple[int, int] | None, mtime_ns: int | None) -> None:
        """Owner, mode and mtime of the regular file ``name``, set on the opened file (never by path)."""
        if self.od.fd is None:
            dest = self.path / name
            if stat.S_ISREG(os.lstat(dest).st_mode) and mtime_ns is not None:
                os.utime(dest, ns=(time.time_ns(), mtime_ns))
            return
        with self.open_file(name) as fh:
            _set_on_fd(fh.fileno(), mode, owner, mtime_ns)

    def remove_temps(self, name: str) -> None:
        """Our temporary files beside ``name`` left by an interrupted write (regular files only)."""
        try:
            entries = self.od.entries()
        except OSError:
            return
        for e in entries:
            if e.kind == "file" and is_our_temp(e.name, name):
                try:
                    if self.od.fd is None:
                        os.unlink(e.path)
                    else:
                        os.unlink(e.name, dir_fd=self.od.fd)
                except OSError:
                    pass
        if self.od.fd is None:
            fsync_dir(self.path)
        else:
            try:
                os.fsync(self.od.fd)
            except OSError:
                pass
