"""A RegistryView read from regedit export files (``.reg``), for tests and offline audits.

Accepts "Windows Registry Editor Version 5.00" files (UTF-16 LE with BOM as regedit writes them, or UTF-8 /
ANSI text) and REGEDIT4 files. Later files and later lines override earlier ones, the way importing them in
order would; ``[-KEY]`` and ``"name"=-`` delete. Malformed lines never raise: they are skipped and recorded in
``problems`` as ``(line_no, reason)``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

from auditor.adapters.registry import normalize_key

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_HEX_TYPE = re.compile(r"hex(?:\(([0-9a-fA-F]{1,8})\))?:(.*)", re.S)
_BYTE = re.compile(r"[0-9a-fA-F]{1,2}")


def decode_reg_bytes(data: bytes) -> str:
    """Text of a .reg file: BOMs first, then charset-normalizer's best guess, then UTF-8 with replacement."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"), (b"\xef\xbb\xbf", "utf-8")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None:
            return str(best)
    except Exception:  # pragma: no cover - a broken detector must not break parsing
        pass
    return data.decode("utf-8", errors="replace")


def _unescape(s: str) -> str:
    return re.sub(r"\\([\\\"])", r"\1", s)


def _ansi(raw: bytes) -> str:
    for codec in ("utf-8", "gb18030"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


class RegFile:
    """RegistryView over one or more regedit exports. Look-ups are case-insensitive; names keep their case."""

    def __init__(self) -> None:
        self._keys: dict[str, dict] = {}  # folded path -> {"name", "values": {folded: (name, value)}, "children": {folded: name}}
        self.problems: list[tuple[int, str]] = []

    # ---- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_files(cls, paths: Iterable[str | Path]) -> "RegFile":
        from ..safeio import read_input  # a regular file only: a FIFO or a user's link is one clear message

        reg = cls()
        for path in [paths] if isinstance(paths, (str, Path)) else paths:
            reg._feed(decode_reg_bytes(read_input(path, "--registry-export", max_size=1 << 30)), f"{Path(path).name}: ")
        return reg

    @classmethod
    def from_text(cls, text: str) -> "RegFile":
        reg = cls()
        reg._feed(text, "")
        return reg

    # ---- RegistryView -------------------------------------------------------------------------------------
    def subkeys(self, key: str) -> list[str] | None:
        node = self._node(key)
        return None if node is None else list(node["children"].values())

    def values(self, key: str) -> dict[str, object] | None:
        node = self._node(key)
        return None if node is None else {name: value for name, value in node["values"].values()}

    def _node(self, key: str) -> dict | None:
        try:
            return self._keys.get(normalize_key(key).casefold())
        except ValueError:
            return None

    # ---- parsing ------------------------------------------------------------------------------------------
    def _feed(self, text: str, where: str) -> None:
        lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
        regedit4, current, seen_header, i = False, None, False, 0
        while i < len(lines):
            line_no, line = i + 1, lines[i].strip()
            i += 1
            # a continued line (hex data wrapped by regedit) ends with a backslash
            while line.endswith("\\") and not line.startswith(("[", ";")) and i < len(lines):
                line, i = line[:-1] + lines[i].strip(), i + 1
            if not line or line.startswith(";"):
                continue
            if not seen_header:
                seen_header = True
                if line in ("REGEDIT4", "Windows Registry Editor Version 5.00"):
                    regedit4 = line == "REGEDIT4"
                    continue
                self.problems.append((line_no, f"{where}missing 'Windows Registry Editor' header"))
            problem = None
            if line.startswith("["):
                current, problem = self._key_line(line)
            elif current is None:
                problem = "value outside of a valid key"
            else:
                problem = self._value_line(current, line, regedit4)
            if problem:
                self.problems.append((line_no, where + problem))

    def _key_line(self, line: str) -> tuple[str | None, str | None]:
        if not line.endswith("]"):
            return None, f"unterminated key line {line[:60]!r}"
        inner, delete = line[1:-1].strip(), False
        if inner.startswith("-"):
            inner, delete = inner[1:].strip(), True
        try:
            path = normalize_key(inner)
        except ValueError as exc:
            return None, str(exc)
        if delete:
            self._delete_key(path)
            return None, None
        self._ensure(path)
        return path.casefold(), None

    def _ensure(self, path: str) -> None:
        parts = path.split("\\")
        for depth in range(1, len(parts) + 1):
            folded = "\\".join(parts[:depth]).casefold()
            if folded not in self._keys:
                self._keys[folded] = {"name": parts[depth - 1], "values": {}, "children": {}}
                if depth > 1:
                    self._keys["\\".join(parts[: depth - 1]).casefold()]["children"][parts[depth - 1].casefold()] = parts[depth - 1]

    def _delete_key(self, path: str) -> None:
        folded = path.casefold()
        for k in [k for k in self._keys if k == folded or k.startswith(folded + "\\")]:
            del self._keys[k]
        parent, _, leaf = folded.rpartition("\\")
        if parent in self._keys:
            self._keys[parent]["children"].pop(leaf, None)

    def _value_line(self, key: str, line: str, regedit4: bool) -> str | None:
        if line.startswith("@"):
            name, rest = "", line[1:]
        else:
            m = _QUOTED.match(line)
            if not m:
                return f"unparsable line {line[:60]!r}"
            name, rest = _unescape(m.group(1)), line[m.end():]
        rest = rest.lstrip()
        if not rest.startswith("="):
            return f"missing '=' after value name {name!r}"
        data, values = rest[1:].strip(), self._keys[key]["values"]
        if data == "-":
            values.pop(name.casefold(), None)
            return None
        value, problem = self._parse_data(data, regedit4)
        if problem:
            return f"value {name!r}: {problem}"
        old = values.get(name.casefold())
        values[name.casefold()] = (old[0] if old else name, value)
        return None

    @staticmethod
    def _parse_data(data: str, regedit4: bool) -> tuple[object, str | None]:
        if data.startswith('"'):
            m = _QUOTED.match(data)
            if not m or data[m.end():].strip():
                return None, "bad string data"
            return _unescape(m.group(1)), None
        data = data.split(";", 1)[0].strip()  # tolerate a trailing comment after non-string data
        low = data.lower()
        if low.startswith("dword:"):
            digits = data[6:].strip()
            if not re.fullmatch(r"[0-9a-fA-F]{1,8}", digits):
                return None, f"bad dword {digits!r}"
            return int(digits, 16), None
        m = _HEX_TYPE.fullmatch(low)
        if not m:
            return None, f"unknown data {data[:40]!r}"
        kind = int(m.group(1), 16) if m.group(1) else 3
        items = [t.strip() for t in m.group(2).split(",")]
        if items and items[-1] == "":
            items.pop()
        if not all(_BYTE.fullmatch(t) for t in items):
            return None, "bad hex byte list"
        raw = bytes(int(t, 16) for t in items)
        if kind in (1, 2, 7):
            text = _ansi(raw) if regedit4 else raw.decode("utf-16-le", errors="replace")
            if kind == 7:
                parts = text.split("\x00")
                while parts and parts[-1] == "":
                    parts.pop()
                return parts, None
            return text.split("\x00", 1)[0], None
        if kind in (4, 5, 0xB):
            size = 8 if kind == 0xB else 4
            if len(raw) != size:
                return None, f"expected {size} bytes for hex({kind:x}), got {len(raw)}"
            return int.from_bytes(raw, "big" if kind == 5 else "little"), None
        return raw, None  # REG_BINARY, REG_NONE and anything else
