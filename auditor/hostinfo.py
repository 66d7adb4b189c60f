"""Host facts for the report header. Never calls `platform.*` on Windows: under Wine (and on some
stripped Windows builds) it goes through WMI and can abort the interpreter."""

from __future__ import annotations

import getpass
import os
import re
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


_MACHINE_ID = re.compile(r"^[0-9a-f]{32}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def machine_id(root: Path | None) -> str | None:
    """The machine's stable id, as other agents report it (ECS host.id): systemd's /etc/machine-id (32 hex
    digits; /var/lib/dbus/machine-id on older systems) or Windows' MachineGuid (HKLM\\SOFTWARE\\Microsoft\\
    Cryptography), lowercase. For an audited tree, its own /etc/machine-id (read inside the tree); None when there
    is none or it does not look like one (an offline Windows tree: its registry hive is not read)."""
    value = None
    if root is None and sys.platform == "win32":
        value = _machine_guid()
    else:
        tree = safeio.tree(root)
        base = root or Path("/")
        for rel in ("etc/machine-id", "var/lib/dbus/machine-id"):
            try:
                value = tree.read_text(base / rel, max_size=4096)
                break
            except (OSError, ValueError):  # missing, unreadable, not text
                continue
    value = value.strip().lower() if isinstance(value, str) else None
    return value if value and _MACHINE_ID.match(value) else None


def _machine_guid() -> str | None:
    try:
        import winreg

        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography", 0,
                            winreg.KEY_READ | winreg.KEY_WOW64_64KEY) as key:
            value = winreg.QueryValueEx(key, "MachineGuid")[0]
    except (ImportError, OSError):
        return None
    return value if isinstance(value, str) else None


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
        facts["machine_id"] = machine_id(root)
    except Exception:  # noqa: BLE001 - a host fact must never stop a scan
        facts["machine_id"] = None
    if facts["machine_id"] is None:
        del facts["machine_id"]
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
