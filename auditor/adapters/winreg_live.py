"""The live Windows registry through `winreg` (Windows, and Windows CPython under Wine)."""

from __future__ import annotations

from .registry import normalize_key


class LiveRegistry:
    def __init__(self) -> None:
        import winreg  # noqa: PLC0415 - Windows only

        self._w = winreg
        self._hives = {
            "HKLM": winreg.HKEY_LOCAL_MACHINE,
            "HKU": winreg.HKEY_USERS,
            "HKCU": winreg.HKEY_CURRENT_USER,
            "HKCR": winreg.HKEY_CLASSES_ROOT,
            "HKCC": winreg.HKEY_CURRENT_CONFIG,
        }

    def _open(self, key: str):
        hive, _, sub = normalize_key(key).partition("\\")
        w = self._w
        access = w.KEY_READ
        try:
            return w.OpenKey(self._hives[hive], sub, 0, access | w.KEY_WOW64_64KEY)
        except OSError:
            return None

    def subkeys(self, key: str) -> list[str] | None:
        handle = self._open(key)
        if handle is None:
            return None
        names: list[str] = []
        with handle:
            i = 0
            while True:
                try:
                    names.append(self._w.EnumKey(handle, i))
                except OSError:
                    break
                i += 1
        return names

    def values(self, key: str) -> dict[str, object] | None:
        handle = self._open(key)
        if handle is None:
            return None
        out: dict[str, object] = {}
        with handle:
            i = 0
            while True:
                try:
                    name, data, _type = self._w.EnumValue(handle, i)
                except OSError:
                    break
                out[name] = data
                i += 1
        return out
