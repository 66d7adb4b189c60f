"""Is a downloaded export still at its target path?

A target path is checked only where this scan can see the right file system: on the live PC as stored; in an
offline tree (``--root``) inside it; under an audited home (``--home`` or a copy) by mapping the part after
``X:\\Users\\<name>\\`` or ``/home/<name>/`` onto that home. Anything else is "unknown", never "absent"."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from .. import safeio
from ..core.context import ScanContext
from .profiles import ci_path, home_tree

_WIN_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_WIN_HOME = re.compile(r"^[A-Za-z]:[\\/](?:Users|Documents and Settings)[\\/][^\\/]+[\\/](.+)$", re.I)
_POSIX_HOME = re.compile(r"^/(?:home/[^/]+|root)/(.+)$")

PRESENT, ABSENT, UNKNOWN = "present", "absent", "unknown"


def is_windows_path(path: str) -> bool:
    return bool(_WIN_DRIVE.match(path)) or path.startswith("\\\\")


def drive_letter(path: str) -> str | None:
    return path[0].upper() if _WIN_DRIVE.match(path) else None


def _under_home(home: Path, rest: str, tree: safeio.Tree) -> tuple[str, Path | None, str]:
    rest_parts = [p for p in re.split(r"[\\/]", rest) if p]
    if not rest_parts:
        return UNKNOWN, None, "path is the home folder itself"
    if ".." in rest_parts:
        return UNKNOWN, None, "path climbs out of the home folder"
    parent = ci_path(home, "/".join(rest_parts[:-1]), tree) if len(rest_parts) > 1 else home
    if parent is None or not tree.is_dir(parent):
        return UNKNOWN, None, "folder not present in the audited home"
    found = ci_path(parent, rest_parts[-1], tree)
    if found is not None and tree.is_file(found):
        return PRESENT, found, "mapped onto the audited home"
    return ABSENT, parent / rest_parts[-1], "mapped onto the audited home"


def locate(target: str, ctx: ScanContext, home: Path, homes_given: bool) -> tuple[str, Path | None, str]:
    """(present|absent|unknown, the local path checked, how it was checked). Every look-up goes through the
    home's tree (auditor.safeio): a user's link does not count as the file, and an audited tree is never left."""
    tree = home_tree(ctx, home, homes_given)
    if not target:
        return UNKNOWN, None, "no target path recorded"
    if target.startswith("\\\\"):
        return UNKNOWN, None, "network path not checked"
    windows = is_windows_path(target)
    home_str = str(home)
    if not windows and (target == home_str or target.startswith(home_str.rstrip("/") + "/")):
        local = Path(target)
        return (PRESENT if tree.is_file(local) else ABSENT), local, "inside the audited home"
    if not homes_given:
        if ctx.live and windows == ctx.windows:
            local = Path(target)
            return (PRESENT if tree.is_file(local) else ABSENT), local, "checked on this PC"
        if not ctx.live:
            if windows and drive_letter(target) != "C":
                return UNKNOWN, None, "drive not in the audited tree"
            local = ctx.win_path(target) if windows else ctx.path(target)
            if local is not None and tree.is_file(local):
                return PRESENT, local, "checked in the audited tree"
            if windows:
                parent = ctx.win_path(str(PureWindowsPath(target).parent))
                if parent is None or not tree.is_dir(parent):
                    return UNKNOWN, None, "folder not present in the audited tree"
                return ABSENT, parent / PureWindowsPath(target).name, "checked in the audited tree"
            parent = ctx.path(str(PurePosixPath(target).parent))
            if not tree.is_dir(parent):
                return UNKNOWN, None, "folder not present in the audited tree"
            return ABSENT, local, "checked in the audited tree"
    m = (_WIN_HOME if windows else _POSIX_HOME).match(target)
    if m:
        return _under_home(home, m.group(1), tree)
    return UNKNOWN, None, "target outside the audited home"
