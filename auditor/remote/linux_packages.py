"""Installed software on Linux: dpkg and rpm package lists, /opt folders, application .desktop files."""

from __future__ import annotations

import shutil

from .. import runcmd, safeio
from ..core.context import ScanContext
from .facts import RemoteFacts, InstalledFact
from .desktop_entry import iter_desktop_entries

AREA = "remote"
MAX_STATUS_BYTES = 256 << 20
DESKTOP_DIRS = ("/usr/share/applications", "/usr/local/share/applications",
                "/var/lib/snapd/desktop/applications", "/var/lib/flatpak/exports/share/applications")


def _dpkg(ctx: ScanContext, facts: RemoteFacts) -> bool:
    status = ctx.path("/var/lib/dpkg/status")
    if not ctx.tree.exists(status):
        return False
    cov = ctx.coverage.source(AREA, "installed:dpkg")
    try:
        text = ctx.tree.read_text(status, max_size=MAX_STATUS_BYTES)
    except OSError as exc:
        cov.status, cov.note = "failed", f"{status}: {safeio.reason_of(exc)}"
        return True
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields and fields.get("Status", "").endswith(" installed"):
            facts.installed.append(InstalledFact(fields["Package"], "dpkg", fields.get("Version"),
                                                 fields.get("Maintainer")))
            cov.examined += 1
    return True


def _rpm(ctx: ScanContext, facts: RemoteFacts) -> None:
    if not ctx.live or shutil.which("rpm") is None:
        return
    cov = ctx.coverage.source(AREA, "installed:rpm")
    res = runcmd.run(["rpm", "-qa", "--qf", "%{NAME}\t%{VERSION}\t%{VENDOR}\n"], timeout=60)
    if res.returncode != 0:
        cov.status, cov.note = "failed", res.error or f"rpm exited {res.returncode}"
        return
    for line in res.text.splitlines():
        parts = line.split("\t")
        if parts and parts[0]:
            version = parts[1] if len(parts) > 1 else None
            vendor = parts[2] if len(parts) > 2 and parts[2] != "(none)" else None
            facts.installed.append(InstalledFact(parts[0], "rpm", version, vendor))
            cov.examined += 1


def _opt(ctx: ScanContext, facts: RemoteFacts) -> None:
    cov = ctx.coverage.source(AREA, "installed:/opt")
    base = ctx.path("/opt")
    try:
        children = ctx.tree.listdir(base) if ctx.tree.is_dir(base) else []
    except OSError as exc:
        cov.status, cov.note = "failed", f"{base}: {safeio.reason_of(exc)}"
        return
    for child in children:
        if child.kind == "dir" or (child.kind == "link" and ctx.tree.is_dir(child.path)):
            facts.installed.append(InstalledFact(child.name, "folder", location=str(child.path)))
            cov.examined += 1


def _desktop_files(ctx: ScanContext, facts: RemoteFacts) -> None:
    cov = ctx.coverage.source(AREA, "installed:desktop-files")
    dirs = [ctx.path(d) for d in DESKTOP_DIRS] + [h / ".local/share/applications" for h in ctx.home_dirs()]
    for path, entry in iter_desktop_entries(dirs, cov, ctx.tree):
        facts.installed.append(InstalledFact(entry.get("Name", path.stem), "desktop-file",
                                             location=str(path), command=entry.get("Exec")))


def collect(ctx: ScanContext, facts: RemoteFacts) -> None:
    if not _dpkg(ctx, facts):
        _rpm(ctx, facts)
    _opt(ctx, facts)
    _desktop_files(ctx, facts)
