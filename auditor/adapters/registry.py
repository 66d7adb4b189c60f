"""The registry interface the Windows collectors read through.

A key path is written the way `reg.exe` and regedit write it: a hive (``HKLM``, ``HKU``, ``HKCU``, ``HKCR``,
``HKCC`` or the long ``HKEY_...`` names) then backslash-separated subkeys. Look-ups are case-insensitive,
as on Windows.

Values come back as Python objects: REG_SZ / REG_EXPAND_SZ -> str (unexpanded), REG_MULTI_SZ -> list[str],
REG_DWORD / REG_QWORD -> int, REG_BINARY and anything else -> bytes. The default value of a key has the
name ``""``.
"""

from __future__ import annotations

from typing import Protocol

HIVE_ALIASES = {
    "HKEY_LOCAL_MACHINE": "HKLM",
    "HKEY_USERS": "HKU",
    "HKEY_CURRENT_USER": "HKCU",
    "HKEY_CLASSES_ROOT": "HKCR",
    "HKEY_CURRENT_CONFIG": "HKCC",
}
SHORT_HIVES = set(HIVE_ALIASES.values())


def normalize_key(path: str) -> str:
    """Return the canonical form of a key path: short hive name, single backslashes, no trailing slash.

    Case is preserved (callers compare with ``casefold``)."""
    parts = [p for p in path.replace("/", "\\").split("\\") if p]
    if not parts:
        raise ValueError("empty registry path")
    hive = parts[0].upper()
    hive = HIVE_ALIASES.get(hive, hive)
    if hive not in SHORT_HIVES:
        raise ValueError(f"unknown registry hive in {path!r}")
    return "\\".join([hive, *parts[1:]])


class RegistryView(Protocol):
    """Read-only view of a registry (live, a regedit export, or an offline hive)."""

    def subkeys(self, key: str) -> list[str] | None:
        """Names of the direct subkeys of ``key``; None when the key does not exist."""

    def values(self, key: str) -> dict[str, object] | None:
        """Values of ``key`` by name; None when the key does not exist."""
