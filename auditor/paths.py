"""Places on disk by name. First where the agent keeps its own data: the incremental state, the remediation
quarantine, the scheduled reports, the fleet store and its log files (the one place that decides it); then where an
export lies, as a place a reader knows (desktop, downloads, WeChat files…).

* **The machine's agent** (root on Linux, SYSTEM or an elevated administrator on Windows) keeps them in one
  protected folder: ``%ProgramData%\\yuncang-auditor`` on Windows, owned by Administrators with a DACL for SYSTEM
  and Administrators only (protected: nothing inherited from %ProgramData%, where standard users may create
  folders); ``/var/lib/yuncang-auditor`` and ``/var/log/yuncang-auditor`` (root, 0700) on Linux. The folder is
  created before its first use and checked at every start; when it was loosened (another owner, a wider DACL or
  mode, a junction or link someone else placed) it is repaired and the repair is logged.
* **A user's own run** keeps them in that user's folders (platformdirs: the XDG folders on Linux, %LOCALAPPDATA%
  on Windows), owner-only as before.
* ``AUDITOR_DATA_DIR`` moves the machine's protected folder (logs included, on Linux too), still protected;
  ``AUDITOR_STATE_DIR``, ``AUDITOR_QUARANTINE_DIR``, ``AUDITOR_FLEET_DB`` and ``AUDITOR_LOG_DIR`` override one
  place each, owner-only (the tests keep every run private with them).

Layout of the protected folder: ``state\\``, ``quarantine\\``, ``reports\\`` (scheduled scans), ``logs\\`` (Windows;
``/var/log/yuncang-auditor`` on Linux) and ``fleet.sqlite``."""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from . import TOOL_NAME
from .durable import make_dirs, restrict_to_owner

WINDOWS = sys.platform == "win32"
if WINDOWS:
    from . import winacl
    from .adapters import winhost

ENV_DATA = "AUDITOR_DATA_DIR"
ENV_STATE = "AUDITOR_STATE_DIR"
ENV_QUARANTINE = "AUDITOR_QUARANTINE_DIR"
ENV_FLEET_DB = "AUDITOR_FLEET_DB"
ENV_LOGS = "AUDITOR_LOG_DIR"
SUBFOLDERS = ("state", "quarantine", "reports", "logs")
LAST_RUN = "last-run.json"  # a scheduled run's record beside its reports (never a report itself)
FILE_ATTRIBUTE_REPARSE_POINT = 0x400


def system_context() -> bool:
    """Whether this run is the machine's agent: root on POSIX; SYSTEM or an elevated administrator on Windows."""
    if WINDOWS:
        return winhost.is_admin()
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _env(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def data_dir(system: bool | None = None) -> Path:
    """The machine's protected data folder (``system``), or the user's data folder."""
    system = system_context() if system is None else system
    if not system:
        return Path(platformdirs.user_data_dir(TOOL_NAME, appauthor=False))
    if _env(ENV_DATA):
        return _env(ENV_DATA)  # type: ignore[return-value]
    if WINDOWS:
        return Path(os.environ.get("ProgramData") or r"C:\ProgramData") / TOOL_NAME
    if sys.platform == "darwin":
        return Path(platformdirs.site_data_dir(TOOL_NAME, appauthor=False))
    return Path("/var/lib") / TOOL_NAME


def state_dir() -> Path:
    """The incremental state of the files area (and the schedule's own state)."""
    return _env(ENV_STATE) or (data_dir(True) / "state" if system_context() else _user_state())


def _user_state() -> Path:
    return Path(platformdirs.user_state_dir(TOOL_NAME, appauthor=False))


def pack_cache_dir() -> Path:
    """The parsed check packs (``auditor/packcache.py``): inside the state folder, never walked."""
    return state_dir() / "packs"


def exe_cache_dir() -> Path:
    """The facts read from running programs' executables (``auditor/remote/exe_cache.py``): inside the state
    folder, never walked."""
    return state_dir() / "executables"


def quarantine_dir() -> Path:
    """The originals `remediate` took out of the users' folders."""
    return _env(ENV_QUARANTINE) or data_dir() / "quarantine"


def reports_dir(system: bool | None = None) -> Path:
    """Where scheduled scans put their dated reports: the machine's (``system``) or the user's schedule."""
    return data_dir(system) / "reports"


def fleet_db_path() -> Path:
    """The fleet store (`fleet ingest|report|export`)."""
    return _env(ENV_FLEET_DB) or data_dir() / "fleet.sqlite"


def log_dir() -> Path:
    """The agent's own log files."""
    override = _env(ENV_LOGS)
    if override:
        return override
    if not system_context():
        return Path(platformdirs.user_log_dir(TOOL_NAME, appauthor=False))
    if WINDOWS or _env(ENV_DATA):
        return data_dir(True) / "logs"
    if sys.platform == "darwin":
        return Path("/Library/Logs") / TOOL_NAME
    return Path("/var/log") / TOOL_NAME


# --------------------------------------------------------------------------- earlier versions' places

def migrate() -> list[str]:
    """Move what an earlier version kept in this account's own folders when it ran as root / SYSTEM / an
    administrator (the incremental state with the schedule's record, the quarantine, the fleet store) to the
    protected places, when those do not exist yet. Returns one line per move (or failed move: the old place then
    stays where it is) for the log. Places given by the environment are never moved."""
    if not system_context():
        return []
    user_data = Path(platformdirs.user_data_dir(TOOL_NAME, appauthor=False))
    pairs = []
    if not _env(ENV_STATE):
        pairs.append((_user_state(), state_dir()))
    if not _env(ENV_QUARANTINE):
        pairs.append((user_data / "quarantine", quarantine_dir()))
    if not _env(ENV_FLEET_DB):
        db = fleet_db_path()
        pairs += [(user_data / f"fleet.sqlite{tail}", Path(f"{db}{tail}")) for tail in ("", "-wal", "-shm", "-journal")]
    lines = []
    for old, new in pairs:
        if old == new or not os.path.lexists(old) or os.path.lexists(new) or os.path.islink(old):
            continue
        try:
            prepare(new.parent)
            os.replace(old, new)
        except OSError as exc:  # another volume, say: left where it is, still readable by this account
            lines.append(f"not moved: {old} -> {new} ({exc.strerror or exc})")
            continue
        lines.append(f"moved: {old} -> {new}")
    return lines


# --------------------------------------------------------------------------- protection of the machine's folders

@dataclass(frozen=True)
class Protection:
    """What checking one protected folder found: ``created``, ``ok``, ``repaired``, ``unconfirmed`` (set, but the
    system reports another ACL: Wine) or ``failed``; ``detail`` says what was wrong or what happened."""

    path: Path
    outcome: str
    detail: str = ""


_checked: dict[str, Protection] = {}


def protected_roots() -> list[Path]:
    """The machine's protected folders in this context ([] for a user's run)."""
    if not system_context():
        return []
    roots = [data_dir(True)]
    logs = log_dir()
    if not _env(ENV_LOGS) and not _inside(logs, roots[0]):
        roots.append(logs)  # /var/log/yuncang-auditor
    return roots


def prepare(folder: Path | str) -> Path:
    """``folder``, one of the agent's own places (state, quarantine, scheduled reports, the fleet store's folder,
    logs), ready to write in and owner-only whichever command comes first: when it lies in a protected folder of
    the machine, that folder is created or checked (and repaired) first, once per process; ``folder`` and its
    missing parents are created owner-only (0700 from the first moment); elsewhere (a user's run, a place given
    by the environment or the command line) ``folder`` itself, and the agent's own folders above it
    (``yuncang-auditor`` in the user's data and state folders), are made owner-only when they existed wider.
    Raises OSError when that cannot be done."""
    folder = Path(folder)
    guarded = [root for root in protected_roots() if _inside(folder, root)]
    for root in guarded:
        result = protect(root)
        if result.outcome == "failed":
            raise PermissionError(f"{root}: {result.detail}")
    make_dirs(folder)
    if guarded:
        return folder  # the machine's folder and its sub-folders: protect() keeps their owner, mode and ACL
    here = Path(os.path.abspath(folder))
    for base in own_bases():
        base = Path(os.path.abspath(base))
        if _inside(here, base) and here != base:
            restrict_to_owner(base)
            for part in here.relative_to(base).parents[-2::-1]:  # the folders between, top down
                restrict_to_owner(base / part)
    restrict_to_owner(folder)
    return folder


def own_bases() -> list[Path]:
    """The agent's own top folders of a user's run (the machine's are ``protected_roots``)."""
    if system_context():
        return []
    return [data_dir(False), _user_state(), Path(platformdirs.user_log_dir(TOOL_NAME, appauthor=False))]


def protections() -> list[Protection]:
    """What the checks of this process found (for the log)."""
    return list(_checked.values())


def protect(root: Path, *, again: bool = False) -> Protection:
    """Create or check-and-repair one protected folder of the machine (once per process unless ``again``)."""
    key = os.path.normcase(os.path.abspath(root))
    if key in _checked and not again:
        return _checked[key]
    try:
        result = _protect_windows(root) if WINDOWS else _protect_posix(root)
    except OSError as exc:
        result = Protection(root, "failed", f"{type(exc).__name__}: {exc.strerror or exc}")
    _checked[key] = result
    return result


def _inside(path: Path, root: Path) -> bool:
    a = os.path.normcase(os.path.abspath(path))
    b = os.path.normcase(os.path.abspath(root))
    return a == b or a.startswith(b.rstrip("\\/") + os.sep)


def _protect_posix(root: Path) -> Protection:
    uid, gid = os.geteuid(), os.getegid()
    notes: list[str] = []
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        make_dirs(root.parent)
        os.mkdir(root, 0o700)
        os.chmod(root, 0o700)
        return Protection(root, "created")
    if stat.S_ISLNK(st.st_mode):
        if st.st_uid == uid:
            st = os.stat(root)  # our own link (data moved to another disk): the folder it leads to is checked
        else:
            os.unlink(root)  # another account's link: never followed
            os.mkdir(root, 0o700)
            return Protection(root, "repaired", f"a link owned by uid {st.st_uid} was removed")
    if not stat.S_ISDIR(st.st_mode):
        return Protection(root, "failed", "not a folder")
    if st.st_uid != uid or st.st_gid != gid:
        os.chown(root, uid, gid)
        notes.append(f"owner was uid {st.st_uid} gid {st.st_gid}")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(root, 0o700)
        notes.append(f"mode was {stat.S_IMODE(st.st_mode):04o}")
    _protect_children_posix(root, uid, gid, notes)
    return Protection(root, "repaired" if notes else "ok", "; ".join(notes))


def _protect_children_posix(root: Path, uid: int, gid: int, notes: list[str]) -> None:
    """The agent's own sub-folders: not links, ours, 0700 (someone may have placed them while the top was loose)."""
    for name in SUBFOLDERS:
        path = root / name
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            if st.st_uid != uid or not stat.S_ISLNK(st.st_mode):
                path.rename(root / f".{name}.set-aside-{os.getpid()}")
                notes.append(f"{name}: a {'link' if stat.S_ISLNK(st.st_mode) else 'file'} of uid {st.st_uid} "
                             "set aside")
            continue
        if st.st_uid != uid or stat.S_IMODE(st.st_mode) & 0o077:
            os.chown(path, uid, gid)
            os.chmod(path, 0o700)
            notes.append(f"{name}: was uid {st.st_uid} mode {stat.S_IMODE(st.st_mode):04o}")


def _protect_windows(root: Path) -> Protection:
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        make_dirs(root.parent)
        os.mkdir(root)
        return _apply_windows(root, "created", [])
    notes: list[str] = []
    if getattr(st, "st_file_attributes", 0) & FILE_ATTRIBUTE_REPARSE_POINT:
        owner = winacl.owner_sid(str(root), nofollow=True)
        if owner not in winacl.TRUSTED_SIDS:
            os.rmdir(root)  # removes the junction or link itself, never what it leads to
            os.mkdir(root)
            return _apply_windows(root, "repaired", [f"a junction or link owned by {owner or 'an unknown account'} "
                                                     "was removed"])
    if not stat.S_ISDIR(os.stat(root).st_mode):
        return Protection(root, "failed", "not a folder")
    problems = winacl.admin_only_problems(winacl.file_sddl(root))
    if not problems:
        return Protection(root, "ok")
    notes.append(", ".join(problems))
    for name in SUBFOLDERS:  # placed while the top was loose: brought under the same ACL
        sub = root / name
        if sub.is_dir():
            try:
                winacl.set_admin_only(sub)
            except OSError as exc:
                notes.append(f"{name}: {exc}")
    return _apply_windows(root, "repaired", notes)


def _apply_windows(root: Path, outcome: str, notes: list[str]) -> Protection:
    winacl.set_admin_only(root)
    left = winacl.admin_only_problems(winacl.file_sddl(root))
    if left:
        why = ("Wine accepts the ACL but reports one derived from the Unix mode" if winhost.is_wine()
               else "the file system reports another ACL than the one set")
        notes.append(f"ACL set; read back: {', '.join(left)} ({why})")
        return Protection(root, "unconfirmed", "; ".join(notes))
    return Protection(root, outcome, "; ".join(notes))


# --------------------------------------------------------------------------- where an export lies

_DRIVE = re.compile(r"^([A-Za-z]):[\\/]")
_LOCATION_WORDS = (  # (folder names, casefolded) -> location key; first match wins, innermost folder first
    ({"wechat files", "xwechat_files", "msgattach"}, "wechat"),
    ({"tencent files", "filerecv"}, "qq"),
    ({"dingtalk", "钉钉"}, "dingtalk"),
    ({"desktop", "桌面"}, "desktop"),
    ({"downloads", "下载", "download"}, "downloads"),
    ({"documents", "my documents", "文档", "我的文档"}, "documents"),
    ({"temp", "tmp", "cache"}, "temp"),
)


def location_of(path: Any) -> str | None:
    """Where an export lay, as a key the fleet report can count: desktop, downloads, documents, wechat, qq,
    dingtalk, temp, removable (/media, /run/media, /mnt), other_drive (a Windows drive other than C:), other."""
    if not isinstance(path, str) or not path:
        return None
    parts = [p.casefold() for p in re.split(r"[\\/]+", path) if p]
    for part in reversed(parts[:-1]):
        for names, key in _LOCATION_WORDS:
            if part in names:
                return key
    if path.startswith(("/media/", "/run/media/", "/mnt/")):
        return "removable"
    drive = _DRIVE.match(path)
    if drive and drive.group(1).upper() != "C":
        return "other_drive"
    return "other"
