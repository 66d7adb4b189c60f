"""The registry interface the Windows collectors read through.

A key path is written the way `reg.exe` and regedit write it: a hive (``HKLM``, ``HKU``, ``HKCU``, ``HKCR``,
``HKCC`` or the long ``HKEY_...`` names) then backslash-separated subkeys. Look-ups are case-insensitive,
as on Windows.

Values come back as Python objects: REG_SZ / REG_EXPAND_SZ -> str (unexpanded), REG_MULTI_SZ -> list[str],
REG_DWORD / REG_QWORD -> int, REG_BINARY and anything else -> bytes. The default value of a key has the
name ``""``.
"""

from __future__ import annotations

from typing import Callable, Protocol

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


def decode_value(kind: int, raw: bytes, decode_ansi: Callable[[bytes], str] | None = None) -> tuple[object, str | None]:
    """The Python value of registry data ``raw`` of type ``kind`` (as above), and a problem when it cannot be read
    (a DWORD of the wrong size). Text is UTF-16 LE (``decode_ansi`` for REGEDIT4 exports, which write ANSI); a
    string ends at its first NUL, a multi-string's empty tail is dropped."""
    if kind in (1, 2, 7):  # REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ
        text = decode_ansi(raw) if decode_ansi else raw[: len(raw) - len(raw) % 2].decode("utf-16-le", "replace")
        if kind == 7:
            parts = text.split("\x00")
            while parts and parts[-1] == "":
                parts.pop()
            return parts, None
        return text.split("\x00", 1)[0], None
    if kind in (4, 5, 0xB):  # REG_DWORD, REG_DWORD_BIG_ENDIAN, REG_QWORD
        size = 8 if kind == 0xB else 4
        if len(raw) != size:
            return None, f"expected {size} bytes for hex({kind:x}), got {len(raw)}"
        return int.from_bytes(raw, "big" if kind == 5 else "little"), None
    return raw, None  # REG_BINARY, REG_NONE and anything else
