"""What a scan knows about where it runs: live host or an offline tree (`--root`), which OS, which role.

Every path of the audited system is reached through ``ctx.tree`` (auditor.safeio): on the live host a user's
link is never followed; in an offline tree every link is resolved inside it, as a chroot would."""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

from .. import safeio
from ..adapters.registry import RegistryView
from .model import Coverage

@dataclass
class ScanContext:
    root: Path | None = None
    role: str | None = None
    site: str | None = None
    registry: RegistryView | None = None
    coverage: Coverage = field(default_factory=Coverage)
    hostname: str = ""
    today: dt.date = field(default_factory=dt.date.today)

    @property
    def live(self) -> bool:
        return self.root is None

    @property
    def tree(self) -> safeio.Tree:
        """Where paths of the audited system are opened: the live host, or confined to the ``--root`` tree."""
        return safeio.tree(self.root)

    @property
    def windows(self) -> bool:
        if self.root is None:
            return sys.platform == "win32"
        return ci_child(self.root, "Windows", self.tree) is not None and \
            ci_child(self.root, "Windows/System32", self.tree) is not None

    def path(self, posix_path: str) -> Path:
        """A Linux path (``/etc/passwd``) inside the audited tree. Open it through :attr:`tree`: its links are
        then resolved inside the tree."""
        if self.root is None:
            return Path(posix_path)
        return self.root / posix_path.lstrip("/")

    def win_path(self, windows_path: str) -> Path | None:
        """A Windows path (``C:\\Windows\\System32\\Tasks``) inside the audited tree, resolved
        case-insensitively in an offline copy; None when it does not exist there."""
        expanded = os.path.expandvars(windows_path) if self.root is None else windows_path
        if self.root is None:
            return Path(expanded)
        parts = PureWindowsPath(expanded).parts[1:]  # drop the drive
        return ci_child(self.root, "/".join(parts), self.tree)

    def home_dirs(self) -> list[Path]:
        """Every user's home folder in the audited system."""
        tree = self.tree
        homes: list[Path] = []
        if self.windows:
            base = self.win_path(r"C:\Users")
            skip = {"public", "default", "default user", "all users"}
            if base is not None:
                homes = [p for p in tree.folders(base) if p.name.casefold() not in skip]
            return homes
        seen: set[str] = set()
        try:
            lines = tree.read_text(self.path("/etc/passwd"), errors="replace").splitlines()
        except OSError:
            lines = []
        for line in lines:
            parts = line.split(":")
            if len(parts) < 7 or not parts[2].isdigit():
                continue
            uid = int(parts[2])
            if uid != 0 and not (1000 <= uid < 60000):
                continue  # system accounts (daemon homes such as /usr/bin, /var/mail) are not people
            if parts[5] and parts[5] not in seen and parts[5] not in ("/", "/nonexistent"):
                seen.add(parts[5])
                home = self.path(parts[5])
                if tree.is_dir(home):
                    homes.append(home)
        for p in tree.folders(self.path("/home")):
            if p not in homes:
                homes.append(p)
        return homes


def safe_iterdir(path: Path, tree: safeio.Tree = safeio.LIVE) -> list[Path]:
    """Sorted entries of a folder (links listed, not followed); [] when it cannot be listed."""
    try:
        return [e.path for e in tree.listdir(path)]
    except OSError:
        return []


def ci_child(base: Path, rel: str, tree: safeio.Tree = safeio.LIVE) -> Path | None:
    """Resolve ``rel`` under ``base`` ignoring case, as Windows would; None when it is not there. ``..`` is
    never taken (a relative path from a user's file must not climb out of ``base``)."""
    cur = base
    for part in [p for p in rel.replace("\\", "/").split("/") if p and p != "."]:
        if part == "..":
            return None
        direct = cur / part
        if tree.exists(direct):
            cur = direct
            continue
        low = part.casefold()
        match = next((c for c in safe_iterdir(cur, tree) if c.name.casefold() == low), None)
        if match is None:
            return None
        cur = match
    return cur
