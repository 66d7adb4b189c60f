"""systemd units on Linux (system and per-user): what they run and whether they are enabled."""

from __future__ import annotations

import os
from pathlib import Path

from ..context import ScanContext
from ..facts import Facts, ServiceFact

AREA = "remote"
SYSTEM_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
               "/usr/lib/systemd/system", "/lib/systemd/system")
USER_DIRS = ("/etc/systemd/user", "/usr/lib/systemd/user", "/lib/systemd/user")
ENABLE_DIRS_SYSTEM = ("/etc/systemd/system",)


def _exec_start(path: Path) -> str | None:
    try:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line.startswith("ExecStart="):
                return line.split("=", 1)[1].lstrip("-@+!:")
    except OSError:
        return None
    return None


def _enabled_units(enable_dirs: list[Path]) -> tuple[set[str], set[str]]:
    """Units linked from any *.wants/*.requires folder, and masked units (linked to /dev/null)."""
    enabled: set[str] = set()
    masked: set[str] = set()
    for base in enable_dirs:
        if not base.is_dir():
            continue
        try:
            for entry in base.iterdir():
                if entry.is_symlink() and os.readlink(entry) == "/dev/null":
                    masked.add(entry.name)
                elif entry.is_dir() and entry.name.endswith((".wants", ".requires")):
                    enabled.update(p.name for p in entry.iterdir())
        except OSError:
            continue
    return enabled, masked


def _collect_scope(ctx: ScanContext, facts: Facts, unit_dirs: list[Path], enable_dirs: list[Path],
                   scope: str, cov) -> None:
    enabled, masked = _enabled_units(enable_dirs)
    seen: set[str] = set()
    for folder in unit_dirs:
        if not folder.is_dir():
            continue
        try:
            units = sorted(p for p in folder.iterdir() if p.name.endswith((".service", ".socket")))
        except OSError as exc:
            cov.skip(str(folder), exc.strerror or "unreadable")
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
                name=unit.name.rsplit(".", 1)[0], source=str(unit), command=_exec_start(unit), start=state,
                scope=scope, display=", ".join(sorted(template_instances)) or None))
            cov.examined += 1


def collect(ctx: ScanContext, facts: Facts) -> None:
    cov = ctx.coverage.source(AREA, "services:systemd")
    _collect_scope(ctx, facts, [ctx.path(d) for d in SYSTEM_DIRS], [ctx.path(d) for d in ENABLE_DIRS_SYSTEM],
                   "system", cov)
    homes = ctx.home_dirs()
    user_dirs = [ctx.path(d) for d in USER_DIRS] + [h / ".config/systemd/user" for h in homes]
    enable_dirs = [ctx.path("/etc/systemd/user")] + [h / ".config/systemd/user" for h in homes]
    _collect_scope(ctx, facts, user_dirs, enable_dirs, "user", cov)
    if cov.examined == 0 and cov.status == "ok":
        cov.status, cov.note = "no_data", "no systemd unit folders found"
