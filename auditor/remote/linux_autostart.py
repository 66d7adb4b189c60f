"""Autostart on Linux besides systemd: XDG autostart files, cron tables, /etc/rc.local."""

from __future__ import annotations

from pathlib import Path

from .. import safeio
from ..core.context import ScanContext
from .facts import AutostartFact, RemoteFacts
from .desktop_entry import iter_desktop_entries

AREA = "remote"
CRON_FILES = ("/etc/crontab",)
CRON_DIRS = ("/etc/cron.d", "/var/spool/cron/crontabs", "/var/spool/cron")
MAX_TABLE_BYTES = 4 << 20


def _xdg(ctx: ScanContext, facts: RemoteFacts, cov) -> None:
    folders = [(ctx.path("/etc/xdg/autostart"), None)]
    folders += [(h / ".config/autostart", h.name) for h in ctx.home_dirs()]
    for folder, user in folders:
        for path, entry in iter_desktop_entries([folder], cov, ctx.tree):
            if entry.get("Hidden", "").lower() == "true" or \
                    entry.get("X-GNOME-Autostart-enabled", "true").lower() == "false":
                continue
            facts.autostart.append(AutostartFact("xdg_autostart", path.stem, entry.get("Exec", ""), str(path), user))


def _cron_lines(path: Path, system_format: bool, tree: safeio.Tree = safeio.LIVE) -> list[tuple[str, str]]:
    out = []
    for line in tree.read_text(path, max_size=MAX_TABLE_BYTES).splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" in line.split()[0]:
            continue
        parts = line.split()
        if parts[0].startswith("@"):
            schedule, rest = parts[0], parts[1:]
        else:
            schedule, rest = " ".join(parts[:5]), parts[5:]
        if system_format and rest:
            rest = rest[1:]  # the user column
        if rest:
            out.append((schedule, " ".join(rest)))
    return out


def _cron(ctx: ScanContext, facts: RemoteFacts, cov) -> None:
    files: list[tuple[Path, bool, str | None]] = [(ctx.path(f), True, None) for f in CRON_FILES]
    tree = ctx.tree
    for d in CRON_DIRS:
        folder = ctx.path(d)
        if not tree.is_dir(folder):
            continue
        try:
            for item in tree.files(folder):
                system = d == "/etc/cron.d"
                files.append((item.path, system, None if system else item.name))
        except OSError as exc:
            cov.skip(str(folder), safeio.reason_of(exc))
    for path, system_format, user in files:
        if not tree.exists(path):
            continue
        try:
            lines = _cron_lines(path, system_format, tree)
        except OSError as exc:
            cov.skip(str(path), safeio.reason_of(exc))
            continue
        cov.examined += 1
        for schedule, command in lines:
            facts.autostart.append(AutostartFact("cron", schedule, command, str(path), user))


def _rc_local(ctx: ScanContext, facts: RemoteFacts, cov) -> None:
    path = ctx.path("/etc/rc.local")
    try:
        lines = ctx.tree.read_text(path, max_size=MAX_TABLE_BYTES).splitlines() if ctx.tree.exists(path) else []
    except OSError as exc:
        cov.skip(str(path), safeio.reason_of(exc))
        return
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#") and line not in ("exit 0",):
            facts.autostart.append(AutostartFact("rc_local", "rc.local", line, str(path)))


def collect(ctx: ScanContext, facts: RemoteFacts) -> None:
    cov = ctx.coverage.source(AREA, "autostart:xdg+cron")
    _xdg(ctx, facts, cov)
    _cron(ctx, facts, cov)
    _rc_local(ctx, facts, cov)
