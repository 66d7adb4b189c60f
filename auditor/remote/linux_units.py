"""systemd units on Linux (system and per-user): what they run and whether they are enabled."""

from __future__ import annotations

import os
from pathlib import Path

from .. import safeio
from ..core.context import ScanContext
from .facts import RemoteFacts, ServiceFact

AREA = "remote"
SYSTEM_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
               "/usr/lib/systemd/system", "/lib/systemd/system")
USER_DIRS = ("/etc/systemd/user", "/usr/lib/systemd/user", "/lib/systemd/user")
ENABLE_DIRS_SYSTEM = ("/etc/systemd/system",)
MAX_UNIT_BYTES = 1 << 20


def _exec_start(path: Path, tree: safeio.Tree) -> str | None:
    try:
        for line in tree.read_text(path, max_size=MAX_UNIT_BYTES).splitlines():
            line = line.strip()
            if line.startswith("ExecStart="):
                return line.split("=", 1)[1].lstrip("-@+!:")
    except OSError:
        return None
    return None


def _enabled_units(enable_dirs: list[Path], tree: safeio.Tree) -> tuple[set[str], set[str]]:
    """Units linked from any *.wants/*.requires folder, and masked units (linked to /dev/null). Only names and
    link targets are read: no link is followed."""
    enabled: set[str] = set()
    masked: set[str] = set()
    for base in enable_dirs:
        if not tree.is_dir(base):
            continue
        try:
            for entry in tree.listdir(base):
                if entry.kind == "link" and _link_target(entry.path, tree) == "/dev/null":
                    masked.add(entry.name)
                elif entry.kind == "dir" and entry.name.endswith((".wants", ".requires")):
                    enabled.update(e.name for e in tree.listdir(entry.path))
        except OSError:
            continue
    return enabled, masked


def _link_target(path: Path, tree: safeio.Tree) -> str | None:
    """Where a link points, read without following it (the folder is reached under the tree's rules)."""
    try:
        folder = tree.resolve(path.parent)
        return os.readlink(folder / path.name)
    except OSError:
        return None


def _collect_scope(ctx: ScanContext, facts: RemoteFacts, unit_dirs: list[Path], enable_dirs: list[Path],
                   scope: str, cov) -> None:
    tree = ctx.tree
    enabled, masked = _enabled_units(enable_dirs, tree)
    seen: set[str] = set()
    for folder in unit_dirs:
        if not tree.is_dir(folder):
            continue
        try:
            units = [e.path for e in tree.files(folder) if e.name.endswith((".service", ".socket"))]
        except OSError as exc:
            cov.skip(str(folder), safeio.reason_of(exc))
            continue
        for unit in units:
            if unit.name in seen:
                continue  # an earlier folder overrides later ones
            seen.add(unit.name)
            if unit.name in masked:
                state = "masked"
            elif unit.name in enabled or any(unit.name == e.split("@")[0] + "@.service" for e in enabled):
                state = "enabled"
            else:
                state = "disabled"
            template_instances = [e for e in enabled if "@" in e and e.split("@")[0] + "@.service" == unit.name]
            facts.services.append(ServiceFact(
                name=unit.name.rsplit(".", 1)[0], source=str(unit), command=_exec_start(unit, tree), start=state,
                scope=scope, display=", ".join(sorted(template_instances)) or None))
            cov.examined += 1


def collect(ctx: ScanContext, facts: RemoteFacts) -> None:
    cov = ctx.coverage.source(AREA, "services:systemd")
    _collect_scope(ctx, facts, [ctx.path(d) for d in SYSTEM_DIRS], [ctx.path(d) for d in ENABLE_DIRS_SYSTEM],
                   "system", cov)
    homes = ctx.home_dirs()
    user_dirs = [ctx.path(d) for d in USER_DIRS] + [h / ".config/systemd/user" for h in homes]
    enable_dirs = [ctx.path("/etc/systemd/user")] + [h / ".config/systemd/user" for h in homes]
    _collect_scope(ctx, facts, user_dirs, enable_dirs, "user", cov)
    if cov.examined == 0 and cov.status == "ok":
        cov.status, cov.note = "no_data", "no systemd unit folders found"
