"""Host facts for the report header. Never calls `platform.*` on Windows: under Wine (and on some
stripped Windows builds) it goes through WMI and can abort the interpreter."""

from __future__ import annotations

import getpass
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

from . import TOOL_NAME, __version__, safeio


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _linux_os(root: Path) -> tuple[str, str]:
    """Name and version from os-release, opened through auditor.safeio (inside the tree when ``root`` is an
    audited tree: its /etc/os-release link is resolved there)."""
    tree = safeio.tree(None if str(root) == "/" else root)
    for rel in ("etc/os-release", "usr/lib/os-release"):
        path = root / rel
        try:
            fields = dict(
                line.split("=", 1) for line in tree.read_text(path, max_size=1 << 20).splitlines() if "=" in line
            )
        except OSError:
            continue
        name = fields.get("PRETTY_NAME") or fields.get("NAME") or "Linux"
        return name.strip().strip('"'), fields.get("VERSION_ID", "").strip().strip('"')
    return "Linux", ""


def _windows_os() -> tuple[str, str]:
    name, version = "Windows", ""
    try:
        v = sys.getwindowsversion()  # type: ignore[attr-defined]
        version = f"{v.major}.{v.minor}.{v.build}"
    except AttributeError:
        pass
    try:
        import winreg

        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Windows NT\CurrentVersion") as key:
            product = winreg.QueryValueEx(key, "ProductName")[0]
            try:
                build = winreg.QueryValueEx(key, "CurrentBuild")[0]
                version = f"{version} (build {build})" if version else str(build)
            except OSError:
                pass
            # Windows 11 still says "Windows 10" in ProductName; the build number tells them apart.
            name = str(product)
    except (ImportError, OSError):
        pass
    return name, version


def _kernel() -> str:
    try:
        return os.uname().release
    except AttributeError:
        return ""


def host_facts(root: Path | None, role: str | None, site: str | None) -> dict[str, Any]:
    live = root is None
    facts: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "user": _user(),
        "role": role or "unspecified",
        "site": site,
        "live": live,
        "root": str(root) if root else None,
        "python": sys.version.split()[0],
        "platform": sys.platform,
    }
    if sys.platform == "win32" and live:
        facts["os"], facts["os_version"] = _windows_os()
    elif live:
        facts["os"], facts["os_version"] = _linux_os(Path("/"))
        facts["kernel"] = _kernel()
    else:
        if safeio.tree(root).is_dir(root / "Windows" / "System32"):
            facts["os"], facts["os_version"] = "Windows (offline tree)", ""
        else:
            facts["os"], facts["os_version"] = _linux_os(root)
    try:
        facts["boot_time"] = datetime.fromtimestamp(psutil.boot_time(), timezone.utc).astimezone().isoformat(
            timespec="seconds") if live else None
    except Exception:  # noqa: BLE001 - a host fact must never stop a scan
        facts["boot_time"] = None
    return facts


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no USER/USERNAME in a service context
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def tool_facts() -> dict[str, str]:
    return {"name": TOOL_NAME, "version": __version__}
