"""Which folders the files area walks: the ``--path`` folders, or by default the folders where exports end up on
an office PC (data: checks/file-roots.toml), or an inspector's hot folders (checks/inspector-checklist.toml).
The scan, ``watch`` and ``inspect`` all choose their folders here."""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path, PureWindowsPath

import psutil

from .. import safeio
from ..core.context import ScanContext, ci_child
from ..packs import load_toml
from ..resources import pack_dir
from .walk import dedupe_roots


@lru_cache(maxsize=None)
def root_rules() -> dict:
    return load_toml(pack_dir("checks") / "file-roots.toml")


def expand(base: Path, rel: str, tree: safeio.Tree = safeio.LIVE, ci: bool = False) -> list[Path]:
    """The folders ``rel`` names under ``base`` (``*`` = any one folder level; ``\\`` or ``/`` separated),
    looked up through ``tree`` so no user's link is followed and an audited tree is never left; ``ci``:
    ignore case, as Windows does. A folder replaced by a link the rules do not follow is kept, so the walk
    refuses it with the reason instead of silently passing it by."""
    parts = [p for p in PureWindowsPath(rel).parts if p not in ("\\", "/")] if "\\" in rel else \
        [p for p in rel.split("/") if p]
    found = [base]
    for part in parts:
        nxt: list[Path] = []
        for folder in found:
            if part == "*":
                nxt += [p for p in tree.folders(folder) if not p.name.startswith(".")]
            elif part == "..":
                continue
            elif ci:
                child = ci_child(folder, part, tree)
                if child is not None:
                    nxt.append(child)
            else:
                nxt.append(folder / part)
        found = nxt
    # a link that is not followed (a user's) is kept: the walk then reports it in the coverage with the reason
    return sorted(p for p in found if tree.is_dir(p) or os.path.islink(p))


def _fixed_drives() -> list[Path]:
    system = Path(sys.executable).anchor.upper() if sys.platform == "win32" else ""
    sysdrive = (Path(os.environ.get("SystemDrive", "C:") + "\\")).anchor.upper()
    out = []
    try:
        parts = psutil.disk_partitions(all=False)
    except Exception:  # noqa: BLE001
        return out
    for p in parts:
        if "fixed" in p.opts and p.mountpoint.upper() not in (sysdrive, system):
            out.append(Path(p.mountpoint))
    return out


def default_roots(ctx: ScanContext) -> list[tuple[Path, str]]:
    """(folder, why) pairs; nested duplicates removed later by the walker."""
    rules = root_rules()
    roots: list[tuple[Path, str]] = []
    if ctx.windows:
        for home in ctx.home_dirs():
            for rel in rules["windows"]["user_folders"]:
                for path in expand(home, rel, ctx.tree, ci=True):
                    roots.append((path, f"user folder {rel}"))
        for folder in rules["windows"]["machine_folders"]:
            path = ctx.win_path(folder)
            if path is not None and ctx.tree.is_dir(path):
                roots.append((path, "shared folder"))
        if ctx.live and sys.platform == "win32" and rules["windows"].get("fixed_drives"):
            roots += [(d, "fixed drive other than the system drive") for d in _fixed_drives()]
    else:
        roots += [(home, "home folder") for home in ctx.home_dirs()]
    return roots


def scan_roots(ctx: ScanContext, paths: list[Path]) -> list[tuple[Path, str]]:
    """(folder, why) pairs of a scan: the ``--path`` folders, else the default roots."""
    if paths:
        return [(Path(p), "given with --path") for p in paths]
    return default_roots(ctx)


def default_folders(ctx: ScanContext) -> list[Path]:
    """The default roots as folders to watch, nested ones left out (``watch``)."""
    return dedupe_roots([p for p, _ in default_roots(ctx)], ctx.tree)


def hot_folders(ctx: ScanContext, profile: dict) -> list[Path]:
    """An inspector's hot folders (the profile's ``windows``/``linux`` folders under every home, and
    ``windows_machine`` folders), looked up through auditor.safeio: a Desktop replaced by a user's link to another
    folder is not searched."""
    tree = ctx.tree
    out: list[Path] = []
    rels = profile.get("windows" if ctx.windows else "linux", [])
    for home in ctx.home_dirs():
        for rel in rels:
            out += expand(home, rel, tree, ci=ctx.windows)
    if ctx.windows:
        out += [Path(p) for p in profile.get("windows_machine", []) if tree.is_dir(Path(p))]
    return dedupe_roots(out, tree)


def skip_set(ctx: ScanContext) -> tuple[set[str], set[str]]:
    """(relative paths to skip under a root, folder names to skip anywhere), case-folded."""
    rules = root_rules()
    rel = rules["windows"]["skip_folders"] if ctx.windows else rules["linux"]["skip_folders"]
    return ({r.replace("\\", "/").casefold() for r in rel},
            {n.replace("\\", "/").casefold() for n in rules["common"]["skip_names"]})
