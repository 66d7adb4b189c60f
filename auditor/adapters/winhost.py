"""Facts about the Windows host the agent runs on: whether it runs elevated or as SYSTEM, and whether the
"Windows" is Wine (which accepts some calls without doing them: ACLs, the event log). ctypes only; every
function answers False off Windows."""

from __future__ import annotations

import ctypes
import sys

from ..winacl import current_user_sid

SYSTEM_SID = "S-1-5-18"


def is_admin() -> bool:
    """An elevated administrator or SYSTEM (IsUserAnAdmin)."""
    if sys.platform != "win32":
        return False
    try:
        return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return False


def is_system() -> bool:
    """The process runs as LocalSystem (a Task Scheduler task or a service)."""
    if sys.platform != "win32":
        return False
    try:
        return current_user_sid() == SYSTEM_SID
    except OSError:
        return False


def wine_version() -> str | None:
    """Wine's version when this Windows is Wine (ntdll exports ``wine_get_version``), else None."""
    if sys.platform != "win32":
        return None
    try:
        func = ctypes.WinDLL("ntdll").wine_get_version  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return None
    func.restype = ctypes.c_char_p
    func.argtypes = []
    try:
        return (func() or b"").decode("ascii", "replace") or "unknown"
    except OSError:
        return None


def is_wine() -> bool:
    return wine_version() is not None
