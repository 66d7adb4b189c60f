"""The one way the agent opens anything it finds on disk.

The agent runs as root / SYSTEM and reads folders that ordinary users write: the very people it audits can
put FIFOs, device links, symlinks and growing files where it looks. Every file read from such a place (export
folders, browser profiles, task files, inputs named on the command line, the fleet share) goes through here:

* **Regular files only.** The file is opened without blocking (a FIFO cannot stall the open), its type is
  checked on the opened descriptor, and it must be the very file that was looked at (same device and inode).
  FIFOs, sockets, devices and folders are refused with a reason.
* **No user's links.** On a live system a symbolic link is followed only when it belongs to root or to the
  account the agent runs as: an ordinary user cannot create such a link, so a user's link is never followed,
  at any component of the path. On Windows a junction or symbolic link is followed only when it belongs to
  SYSTEM, Administrators or TrustedInstaller (the profile's own compatibility junctions); the opened file's
  final path must be the path that was resolved.
* **Confined to --root.** With an audited tree, every path is resolved inside it as a chroot would: an
  absolute link starts again at the tree's root and ``..`` stops there, whoever owns the link.
* **Bounded.** A size limit is checked before reading, and a file that grows while it is read ends where it
  was when it was opened: a writer that never stops cannot keep the agent reading.

A refusal is a :class:`Refused` (an ``OSError``) whose ``reason`` is the short text shown in coverage.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import BinaryIO

from .errors import UsageError
from .messages import Worded

WINDOWS = sys.platform == "win32"
MAX_LINK_HOPS = 40
DEFAULT_MAX = 64 << 20  # read_bytes without a stated limit: small configuration and state files

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"),
          (stat.S_ISLNK, "a symbolic link"))


class Refused(OSError):
    """The file was not opened; ``reason`` says why (shown in coverage, never a traceback)."""

    def __init__(self, path: Path | str, reason: str, err: int = errno.EPERM) -> None:
        super().__init__(err, reason, os.fspath(path))
        self.reason = reason


def kind_of(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def reason_of(exc: OSError) -> str:
    """The short coverage text for any error of opening or reading a file."""
    if isinstance(exc, Refused):
        return exc.reason
    if isinstance(exc, FileNotFoundError):
        return "no such file (or it vanished)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "a folder, not a file"
    return f"cannot read ({exc.strerror or type(exc).__name__})"


# --------------------------------------------------------------------------- who may own a link we follow

def _trusted_uids() -> frozenset[int]:
    if WINDOWS:
        return frozenset()
    return frozenset({0, os.geteuid()})


# --------------------------------------------------------------------------- the opened file

class BoundedFile(io.RawIOBase):
    """A read-only regular file that ends where it ended when it was opened (or at ``limit``)."""

    def __init__(self, fd: int, name: str, size: int) -> None:
        super().__init__()
        self._fd = fd
        self.name = name
        self.size = size  # st_size when opened: reads stop here
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            pos = offset
        elif whence == 1:
            pos = self._pos + offset
        elif whence == 2:
            pos = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise OSError(errno.EINVAL, "negative seek position")
        self._pos = pos
        return pos

    def readinto(self, b) -> int:  # type: ignore[override]
        want = min(len(b), self.size - self._pos)
        if want <= 0:
            return 0
        if hasattr(os, "pread"):
            data = os.pread(self._fd, want, self._pos)
        else:  # Windows
            os.lseek(self._fd, self._pos, 0)
            data = os.read(self._fd, want)
        n = len(data)
        b[:n] = data
        self._pos += n
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                os.close(self._fd)
            finally:
                super().close()


def opened_size(fh) -> int:
    """The size a file opened here had when it was opened (where its reads end)."""
    raw = getattr(fh, "raw", fh)
    size = getattr(raw, "size", None)
    if isinstance(size, int):
        return size
    return os.fstat(fh.fileno()).st_size


def _wrap(fd: int, path: str, size: int, max_size: int | None, buffered: bool) -> BinaryIO:
    if max_size is not None and size > max_size:
        os.close(fd)
        raise Refused(path, f"too large ({size} bytes; limit {max_size})", errno.EFBIG)
    raw = BoundedFile(fd, path, size)
    return io.BufferedReader(raw, 1 << 20) if buffered else raw  # type: ignore[return-value]


# --------------------------------------------------------------------------- POSIX: walk with folder descriptors

_O_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_O_FILE = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
           | getattr(os, "O_CLOEXEC", 0))


def _split_posix(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


class _Walker:
    """Resolves a path component by component through folder descriptors (openat), following only the links
    the policy allows; ``root`` confines everything to an audited tree."""

    def __init__(self, root: str | None) -> None:
        self.root = root
        self.trusted = _trusted_uids()

    def _anchor(self) -> int:
        if self.root is None:
            return os.open("/", _O_DIR)
        # the tree's own root is reached under the live rules: a user's link cannot move the audited tree
        return _Walker(None).open_dir(os.path.abspath(self.root), self.root)

    def resolve(self, path: str, shown: str) -> tuple[int, str, os.stat_result]:
        """(descriptor of the parent folder, final name, lstat of the final entry). The caller closes the fd.
        A final name of "" means the path is the anchor itself."""
        todo = _split_posix(path)
        cur = self._anchor()
        depth = 0
        hops = 0
        try:
            if not todo:
                return cur, "", os.fstat(cur)
            while True:
                name = todo.pop(0)
                if name == "..":
                    if depth > 0:
                        parent = os.open("..", _O_DIR, dir_fd=cur)
                        os.close(cur)
                        cur, depth = parent, depth - 1
                    if not todo:
                        # the path ends in "..": the folder itself is the result
                        return cur, "", os.fstat(cur)
                    continue
                st = os.stat(name, dir_fd=cur, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    if self.root is None and st.st_uid not in self.trusted:
                        raise Refused(shown, f"reached through a symbolic link owned by uid {st.st_uid}, not followed")
                    hops += 1
                    if hops > MAX_LINK_HOPS:
                        raise Refused(shown, "too many symbolic links", errno.ELOOP)
                    target = os.readlink(name, dir_fd=cur)
                    if isinstance(target, bytes):
                        target = os.fsdecode(target)
                    if target.startswith("/"):
                        os.close(cur)
                        cur, depth = self._anchor(), 0
                    todo = _split_posix(target) + todo
                    if not todo:
                        return cur, "", os.fstat(cur)
                    continue
                if not todo:
                    return cur, name, st
                if not stat.S_ISDIR(st.st_mode):
                    raise Refused(shown, f"a path component is {kind_of(st.st_mode)}, not a folder", errno.ENOTDIR)
                nxt = os.open(name, _O_DIR, dir_fd=cur)
                nst = os.fstat(nxt)
                if (nst.st_dev, nst.st_ino) != (st.st_dev, st.st_ino):
                    os.close(nxt)
                    raise Refused(shown, "a folder on the path was replaced while it was opened")
                os.close(cur)
                cur, depth = nxt, depth + 1
        except BaseException:
            os.close(cur)
            raise

    def open_file(self, path: str, shown: str) -> tuple[int, os.stat_result]:
        parent, name, st = self.resolve(path, shown)
        try:
            if not name:
                raise Refused(shown, "a folder, not a file", errno.EISDIR)
            if not stat.S_ISREG(st.st_mode):
                raise Refused(shown, f"{kind_of(st.st_mode)}, not a regular file")
            try:
                fd = os.open(name, _O_FILE, dir_fd=parent)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise Refused(shown, "replaced by a symbolic link while it was opened") from None
                raise
        finally:
            os.close(parent)
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            os.close(fd)
            raise Refused(shown, "replaced while it was opened")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return fd, fst

    def open_dir(self, path: str, shown: str) -> int:
        parent, name, st = self.resolve(path, shown)
        if not name:
            return parent
        try:
            if not stat.S_ISDIR(st.st_mode):
                raise Refused(shown, f"{kind_of(st.st_mode)}, not a folder", errno.ENOTDIR)
            fd = os.open(name, _O_DIR, dir_fd=parent)
        finally:
            os.close(parent)
        fst = os.fstat(fd)
        if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            os.close(fd)
            raise Refused(shown, "a folder on the path was replaced while it was opened")
        return fd


# --------------------------------------------------------------------------- Windows: paths, reparse points, handles

_REPARSE = 0x400
_DIRECTORY = 0x10
_TRUSTED_SIDS = ("S-1-5-18", "S-1-5-32-544", "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464")


def _win_attrs(st: os.stat_result) -> int:
    return getattr(st, "st_file_attributes", 0)


def _win_link_owner_trusted(path: str) -> bool:
    try:
        from . import winacl

        return winacl.owner_sid(path, nofollow=True) in _TRUSTED_SIDS
    except Exception:  # noqa: BLE001 - unknown owner: not trusted
        return False


def _win_resolve(path: str, root: str | None, shown: str) -> str:
    """The path with every reparse point resolved (inside ``root`` when confined); refused when a reparse
    point is not one the policy follows."""
    pure = PureWindowsPath(path)
    if root is not None:
        rel = PureWindowsPath(path)
        try:
            rel = rel.relative_to(PureWindowsPath(root))
        except ValueError:
            rel = PureWindowsPath(*rel.parts[1:]) if rel.anchor else rel
        todo = [p for p in rel.parts if p not in ("\\", "/")]
        cur = PureWindowsPath(root)
        base = cur
    else:
        todo = list(pure.parts[1:])
        cur = PureWindowsPath(pure.anchor)
        base = cur
    depth, hops = 0, 0
    while todo:
        name = todo.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            if depth > 0:
                cur, depth = cur.parent, depth - 1
            continue
        nxt = cur / name
        st = os.lstat(str(nxt))
        if _win_attrs(st) & _REPARSE or stat.S_ISLNK(st.st_mode):
            if root is None and not _win_link_owner_trusted(str(nxt)):
                raise Refused(shown, "reached through a junction or symbolic link, not followed")
            hops += 1
            if hops > MAX_LINK_HOPS:
                raise Refused(shown, "too many links", errno.ELOOP)
            target = os.readlink(str(nxt))
            if target.startswith("\\\\?\\"):
                target = target[4:]
            tp = PureWindowsPath(target)
            if tp.anchor:
                if root is not None:
                    cur, depth = base, 0
                    todo = [p for p in tp.parts[1:]] + todo
                else:
                    cur, depth = PureWindowsPath(tp.anchor), 0
                    todo = list(tp.parts[1:]) + todo
            else:
                todo = list(tp.parts) + todo
            continue
        cur, depth = nxt, depth + 1
    return str(cur)


def _win_open(resolved: str, shown: str, want_dir: bool = False) -> tuple[int, os.stat_result]:
    import ctypes
    import msvcrt
    from ctypes import wintypes

    k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    k32.CreateFileW.restype = wintypes.HANDLE
    k32.CreateFileW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, ctypes.c_void_p, wintypes.DWORD,
                                wintypes.DWORD, wintypes.HANDLE]
    k32.GetFileType.argtypes = [wintypes.HANDLE]
    k32.GetFileType.restype = wintypes.DWORD
    k32.CloseHandle.argtypes = [wintypes.HANDLE]
    k32.GetFinalPathNameByHandleW.argtypes = [wintypes.HANDLE, wintypes.LPWSTR, wintypes.DWORD, wintypes.DWORD]
    k32.GetFinalPathNameByHandleW.restype = wintypes.DWORD
    generic_read, share_all, open_existing = 0x80000000, 0x1 | 0x2 | 0x4, 3
    flags = 0x00200000 | 0x08000000  # FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_SEQUENTIAL_SCAN
    if want_dir:
        flags |= 0x02000000  # FILE_FLAG_BACKUP_SEMANTICS
    handle = k32.CreateFileW(resolved, generic_read, share_all, None, open_existing, flags, None)
    if handle in (None, wintypes.HANDLE(-1).value):
        err = ctypes.get_last_error()
        if err == 5 and not want_dir and os.path.isdir(resolved):  # a folder opened as a file: "access denied"
            raise Refused(shown, "a folder, not a file", errno.EISDIR)
        raise ctypes.WinError(err)  # type: ignore[attr-defined]
    ok = False
    try:
        if k32.GetFileType(handle) != 1:  # FILE_TYPE_DISK
            raise Refused(shown, "a device or pipe, not a regular file")
        buf = ctypes.create_unicode_buffer(32768)
        n = k32.GetFinalPathNameByHandleW(handle, buf, 32768, 0)
        if n and not _same_win_path(buf.value, resolved):
            raise Refused(shown, "reached through a junction or symbolic link, not followed")
        fd = msvcrt.open_osfhandle(handle, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        ok = True
    finally:
        if not ok:
            k32.CloseHandle(handle)
    st = os.fstat(fd)
    attrs = _win_attrs(st)
    if attrs & _REPARSE:
        os.close(fd)
        raise Refused(shown, "a junction or symbolic link, not followed")
    if bool(attrs & _DIRECTORY) != want_dir or (not want_dir and not stat.S_ISREG(st.st_mode)):
        os.close(fd)
        raise Refused(shown, "a folder, not a file" if not want_dir else "not a folder")
    return fd, st


def _same_win_path(final: str, wanted: str) -> bool:
    def norm(p: str) -> str:
        p = p.replace("/", "\\")
        for prefix in ("\\\\?\\UNC\\", "\\\\?\\"):
            if p.startswith(prefix):
                p = ("\\\\" if prefix.endswith("UNC\\") else "") + p[len(prefix):]
        return os.path.normcase(os.path.normpath(p)).rstrip("\\")

    a, b = norm(final), norm(wanted)
    if a == b:
        return True
    try:  # 8.3 short names in what we were given
        import ctypes

        buf = ctypes.create_unicode_buffer(32768)
        if ctypes.windll.kernel32.GetLongPathNameW(wanted, buf, 32768):  # type: ignore[attr-defined]
            return norm(buf.value) == a
    except (AttributeError, OSError):
        pass
    return False


# --------------------------------------------------------------------------- the public face

@dataclass(frozen=True)
class Tree:
    """Where paths are resolved: the live system (``root`` None) or an audited tree mounted at ``root``.

    Paths handed to a confined tree may be host paths inside it (``/mnt/pc/home/a/x.csv``) or paths of the
    audited system (``/home/a/x.csv``); both resolve inside the tree."""

    root: Path | None = None

    @property
    def confined(self) -> bool:
        return self.root is not None

    def _rel(self, path: Path | str) -> str:
        text = os.fspath(path)
        if self.root is None:
            return os.path.abspath(text)
        root = os.fspath(self.root)
        if WINDOWS:
            return text
        if text == root or text.startswith(root.rstrip("/") + "/"):
            return text[len(root.rstrip("/")):] or "/"
        return text

    # ----------------------------------------------------------------- files
    def open(self, path: Path | str, *, max_size: int | None = None, buffered: bool = True) -> BinaryIO:
        """A regular file, opened for reading under the rules above. Raises :class:`Refused` or ``OSError``."""
        shown = os.fspath(path)
        if WINDOWS:
            resolved = _win_resolve(os.path.abspath(shown) if self.root is None else shown,
                                    None if self.root is None else os.fspath(self.root), shown)
            fd, st = _win_open(resolved, shown)
        else:
            fd, st = _Walker(None if self.root is None else os.fspath(self.root)).open_file(self._rel(path), shown)
        return _wrap(fd, shown, st.st_size, max_size, buffered)

    def read_bytes(self, path: Path | str, *, max_size: int = DEFAULT_MAX) -> bytes:
        with self.open(path, max_size=max_size, buffered=False) as fh:
            return fh.read()

    def read_text(self, path: Path | str, *, max_size: int = DEFAULT_MAX, encoding: str = "utf-8",
                  errors: str = "replace") -> str:
        return self.read_bytes(path, max_size=max_size).decode(encoding, errors)

    def stat(self, path: Path | str) -> os.stat_result:
        """lstat of the final entry, reached under the rules above (links on the way resolved as allowed)."""
        shown = os.fspath(path)
        if WINDOWS:
            resolved = _win_resolve(os.path.abspath(shown) if self.root is None else shown,
                                    None if self.root is None else os.fspath(self.root), shown)
            return os.lstat(resolved)
        parent, name, st = _Walker(None if self.root is None else os.fspath(self.root)).resolve(self._rel(path), shown)
        os.close(parent)
        return st

    def resolve(self, path: Path | str) -> Path:
        """The host path that ``path`` names, every link resolved under the rules above (to name or compare
        folders, e.g. the roots of a walk; files are always opened with :meth:`open`)."""
        shown = os.fspath(path)
        if WINDOWS:
            return Path(_win_resolve(os.path.abspath(shown) if self.root is None else shown,
                                     None if self.root is None else os.fspath(self.root), shown))
        rel = self._rel(path)
        walker = _Walker(None if self.root is None else os.fspath(self.root))
        parent, name, _st = walker.resolve(rel, shown)
        try:
            base = _fd_path(parent)
        finally:
            os.close(parent)
        return Path(base) / name if name else Path(base)

    def is_file(self, path: Path | str) -> bool:
        try:
            return stat.S_ISREG(self.stat(path).st_mode)
        except OSError:
            return False

    def is_dir(self, path: Path | str) -> bool:
        try:
            st = self.stat(path)
        except OSError:
            return False
        return stat.S_ISDIR(st.st_mode) and not _win_attrs(st) & _REPARSE

    # ----------------------------------------------------------------- folders
    def folders(self, path: Path | str) -> list[Path]:
        """The sub-folders of a folder, sorted by name: real folders, and links that lead to a folder under the
        rules above (a root-owned link on the live system, any link inside an audited tree, confined).
        [] when the folder cannot be listed."""
        try:
            entries = self.listdir(path)
        except OSError:
            return []
        return [e.path for e in entries if e.kind == "dir" or (e.kind == "link" and self.is_dir(e.path))]

    def files(self, path: Path | str) -> list[Entry]:
        """The entries of a folder that are not folders (regular files, and links, FIFOs, devices…, which
        :meth:`open` then follows or refuses with the reason), sorted by name. Raises OSError when the folder
        cannot be listed."""
        entries = self.listdir(path)
        return [e for e in entries if e.kind != "dir" and not (e.kind == "link" and self.is_dir(e.path))]

    def exists(self, path: Path | str) -> bool:
        try:
            self.stat(path)
        except OSError:
            return False
        return True

    def listdir(self, path: Path | str) -> list[Entry]:
        """The entries of a folder, sorted by name; links are listed as links, never entered."""
        shown = os.fspath(path)
        if WINDOWS:
            resolved = _win_resolve(os.path.abspath(shown) if self.root is None else shown,
                                    None if self.root is None else os.fspath(self.root), shown)
            out = []
            with os.scandir(resolved) as it:
                for e in it:
                    out.append(_entry(Path(shown) / e.name, e.stat(follow_symlinks=False)))
            return sorted(out, key=lambda e: e.name)
        fd = _Walker(None if self.root is None else os.fspath(self.root)).open_dir(self._rel(path), shown)
        try:
            return list_fd(fd, Path(shown))
        finally:
            os.close(fd)


@dataclass(frozen=True)
class Entry:
    """One folder entry as seen without following it."""

    path: Path
    name: str
    kind: str  # file | dir | link | other
    size: int
    mtime_ns: int
    dev: int
    ino: int
    uid: int | None
    mode: int


def _entry(path: Path, st: os.stat_result) -> Entry:
    mode = st.st_mode
    if stat.S_ISLNK(mode) or _win_attrs(st) & _REPARSE:
        kind = "link"
    elif stat.S_ISDIR(mode):
        kind = "dir"
    elif stat.S_ISREG(mode):
        kind = "file"
    else:
        kind = "other"
    return Entry(path, path.name, kind, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino,
                 getattr(st, "st_uid", None) if not WINDOWS else None, mode)


def list_fd(fd: int, shown: Path) -> list[Entry]:
    """Entries of the folder open as ``fd`` (POSIX), without following anything."""
    out = []
    for name in os.listdir(fd):
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        out.append(_entry(shown / name, st))
    return sorted(out, key=lambda e: e.name)


def _fd_path(fd: int) -> str:
    link = f"/proc/self/fd/{fd}"
    if os.path.exists(link):
        return os.readlink(link)
    try:
        import fcntl

        return fcntl.fcntl(fd, getattr(fcntl, "F_GETPATH", 50), b"\0" * 1024).rstrip(b"\0").decode()
    except (ImportError, OSError):
        raise OSError(errno.ENOTSUP, "cannot name an open folder on this system") from None


LIVE = Tree()


def open_input(path: Path | str, what: str, *, max_size: int | None = None) -> BinaryIO:
    """A file named on the command line (``--roster``, ``--allowlist``, …): opened under the live rules; a FIFO,
    a device, a user's link or a file that is too large ends the command with one clear message (exit 2)."""

    try:
        return open_regular(path, max_size=max_size)
    except OSError as exc:
        raise UsageError("usage.cannot_read_what", what=what, path=path, why=Worded(reason_of(exc))) from None


def read_input(path: Path | str, what: str, *, max_size: int = DEFAULT_MAX) -> bytes:
    """The bytes of a file named on the command line (see :func:`open_input`)."""

    with open_input(path, what, max_size=max_size) as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise UsageError("usage.cannot_read_what", what=what, path=path, why=Worded(reason_of(exc))) from None


def tree(root: Path | None) -> Tree:
    return LIVE if root is None else Tree(Path(root))


def open_regular(path: Path | str, *, max_size: int | None = None, root: Path | None = None,
                 buffered: bool = True) -> BinaryIO:
    """:meth:`Tree.open` on the live system (or inside ``root``)."""
    return tree(root).open(path, max_size=max_size, buffered=buffered)


def read_bytes(path: Path | str, *, max_size: int = DEFAULT_MAX, root: Path | None = None) -> bytes:
    return tree(root).read_bytes(path, max_size=max_size)


def read_text(path: Path | str, *, max_size: int = DEFAULT_MAX, root: Path | None = None, encoding: str = "utf-8",
              errors: str = "replace") -> str:
    return tree(root).read_text(path, max_size=max_size, encoding=encoding, errors=errors)


# --------------------------------------------------------------------------- walking a folder tree

class OpenDir:
    """A folder held open by descriptor (POSIX) for a walk: its children are listed and opened relative to
    the descriptor, so a folder swapped for a link halfway through the walk cannot redirect it."""

    def __init__(self, fd: int | None, path: Path, st: os.stat_result) -> None:
        self.fd = fd
        self.path = path
        self.dev, self.ino = st.st_dev, st.st_ino

    @classmethod
    def open(cls, path: Path, tree_: Tree = LIVE) -> "OpenDir":
        if WINDOWS:
            st = tree_.stat(path)
            if not stat.S_ISDIR(st.st_mode) or _win_attrs(st) & _REPARSE:
                raise Refused(path, "not a folder (or a junction), not entered")
            return cls(None, Path(path), st)
        fd = _Walker(None if tree_.root is None else os.fspath(tree_.root)).open_dir(tree_._rel(path), os.fspath(path))
        return cls(fd, Path(path), os.fstat(fd))

    def entries(self) -> list[Entry]:
        if self.fd is None:
            out = []
            with os.scandir(self.path) as it:
                for e in it:
                    try:
                        out.append(_entry(self.path / e.name, e.stat(follow_symlinks=False)))
                    except FileNotFoundError:
                        continue
            return sorted(out, key=lambda e: e.name)
        return list_fd(self.fd, self.path)

    def entry(self, name: str) -> Entry:
        """The entry ``name`` of this folder as it is now, not followed (FileNotFoundError when absent)."""
        if self.fd is None:
            return _entry(self.path / name, os.lstat(self.path / name))
        return _entry(self.path / name, os.stat(name, dir_fd=self.fd, follow_symlinks=False))

    def child(self, entry: Entry) -> "OpenDir":
        if self.fd is None:
            st = os.lstat(entry.path)
            # a listed entry has no inode on Windows (DirEntry.stat): compare only when both are known
            if not stat.S_ISDIR(st.st_mode) or _win_attrs(st) & _REPARSE or \
                    (st.st_ino and entry.ino and st.st_ino != entry.ino):
                raise Refused(entry.path, "replaced while the folder was walked")
            return OpenDir(None, entry.path, st)
        fd = os.open(entry.name, _O_DIR, dir_fd=self.fd)
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (entry.dev, entry.ino):
            os.close(fd)
            raise Refused(entry.path, "replaced while the folder was walked")
        return OpenDir(fd, entry.path, st)

    def open_file(self, entry: Entry, *, max_size: int | None = None, buffered: bool = True) -> BinaryIO:
        """Open a file entry of this folder: regular, the same file that was listed, no link followed."""
        if entry.kind != "file":
            raise Refused(entry.path, f"{kind_of(entry.mode)}, not a regular file")
        if self.fd is None:
            fd, st = _win_open(os.fspath(entry.path), os.fspath(entry.path))
        else:
            try:
                fd = os.open(entry.name, _O_FILE, dir_fd=self.fd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise Refused(entry.path, "replaced by a symbolic link while it was opened") from None
                raise
            st = os.fstat(fd)
            if hasattr(os, "set_blocking"):
                os.set_blocking(fd, True)
        if not stat.S_ISREG(st.st_mode) or (entry.ino and (st.st_dev, st.st_ino) != (entry.dev, entry.ino)):
            os.close(fd)
            raise Refused(entry.path, "replaced while it was opened")
        return _wrap(fd, os.fspath(entry.path), st.st_size, max_size, buffered)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "OpenDir":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["Refused", "Tree", "LIVE", "tree", "Entry", "OpenDir", "open_regular", "read_bytes", "read_text",
           "open_input", "read_input", "reason_of", "kind_of"]
