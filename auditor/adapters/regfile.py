"""A RegistryView read from regedit export files (``.reg``), for tests and offline audits.

Accepts "Windows Registry Editor Version 5.00" files (UTF-16 LE with BOM as regedit writes them, or UTF-8 /
ANSI text) and REGEDIT4 files. Later files and later lines override earlier ones, the way importing them in
order would; ``[-KEY]`` and ``"name"=-`` delete. Malformed lines never raise: they are skipped and recorded in
``problems`` as ``(line_no, reason)`` (the first ``MAX_PROBLEMS``, then one line saying more were not listed).
Parsing takes time and memory in proportion to the export, whatever its lines hold.
"""

from __future__ import annotations

import io
import re
from typing import Iterable, Iterator

from auditor.adapters.registry import normalize_key
from auditor.textcodec import decode_ansi, decode_text

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_HEX_TYPE = re.compile(r"hex(?:\(([0-9a-fA-F]{1,8})\))?:(.*)", re.S)
_BYTE = re.compile(r"[0-9a-fA-F]{1,2}")
# what makes a hex byte list ("01,0a, ff," or nothing) invalid: searched, not matched as a whole, since a
# repeated group would hold a backtracking entry per byte (hundreds of MB for a long value)
_BAD_BYTES = re.compile(r"[^0-9a-fA-F,\s]|[0-9a-fA-F]{3}|[0-9a-fA-F]\s+[0-9a-fA-F]|,\s*,|^\s*,")
MAX_PROBLEMS = 1000  # listed; one more line says that others were not
MAX_KEY_DEPTH = 512  # the registry's own limit of key nesting


def _lines(text: str, start: int = 0) -> Iterator[str]:
    """The lines of ``text`` from ``start``, split at CR LF, CR or LF, one at a time: a large export is never
    copied into a list of lines."""
    n, pos = len(text), start
    next_lf = next_cr = -2  # not looked up yet (-1: there is none)
    while True:
        if -1 != next_lf < pos:
            next_lf = text.find("\n", pos)
        if -1 != next_cr < pos:
            next_cr = text.find("\r", pos)
        ends = [e for e in (next_lf, next_cr) if e != -1]
        if not ends:
            yield text[pos:n]
            return
        end = min(ends)
        yield text[pos:end]
        pos = end + (2 if text.startswith("\r\n", end) else 1)


def _join_continued(first: str, rest: Iterator[str]) -> str:
    """``first`` (which ends with a backslash) joined to the lines that continue it, as regedit wraps hex data:
    each backslash at the end is dropped and the next line, stripped, is appended. The text grows and is cut
    at its end in one buffer, so time and memory are in proportion to it however it is wrapped."""
    buf = io.StringIO()
    buf.write(first)
    size, last = len(first), first[-1:]
    while last == "\\":
        more = next(rest, None)
        if more is None:
            break
        size -= 1
        buf.seek(size)
        buf.truncate()
        more = more.strip()
        if more:
            buf.write(more)
            size, last = size + len(more), more[-1]
        elif size:
            buf.seek(size - 1)
            last = buf.read(1)
        else:
            last = ""
    return buf.getvalue()


def _new_node(name: str) -> dict:
    return {"name": name, "values": {}, "children": {}}


def _unescape(s: str) -> str:
    return re.sub(r"\\([\\\"])", r"\1", s)


MAX_EXPORT = 128 << 20  # parsing takes about 3x the file: this holds the largest full-machine exports seen


class RegFile:
    """RegistryView over one or more regedit exports. Look-ups are case-insensitive; names keep their case.

    Keys are a tree of nodes (``{"name", "values": {folded: (name, value)}, "children": {folded: node}}``):
    creating, finding and deleting a key costs the length of its path, whatever the export holds. A key path
    deeper than ``MAX_KEY_DEPTH`` levels (the registry's own limit) is refused as a problem."""

    def __init__(self) -> None:
        self._hives: dict[str, dict] = {}  # "HKLM" -> node
        self.problems: list[tuple[int, str]] = []

    # ---- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_exports(cls, exports: Iterable[tuple[str, bytes]]) -> "RegFile":
        """One view over ``(name, bytes)`` exports in order (their problems name the file); the caller reads
        them (through auditor.safeio, at most ``MAX_EXPORT`` bytes each)."""
        reg = cls()
        for name, data in exports:
            reg._feed(decode_text(data), f"{name}: ")
        return reg

    @classmethod
    def from_text(cls, text: str) -> "RegFile":
        reg = cls()
        reg._feed(text, "")
        return reg

    # ---- RegistryView -------------------------------------------------------------------------------------
    def subkeys(self, key: str) -> list[str] | None:
        node = self._node(key)
        return None if node is None else [child["name"] for child in node["children"].values()]

    def values(self, key: str) -> dict[str, object] | None:
        node = self._node(key)
        return None if node is None else {name: value for name, value in node["values"].values()}

    def _node(self, key: str) -> dict | None:
        try:
            parts = normalize_key(key).split("\\")
        except ValueError:
            return None
        node = self._hives.get(parts[0])
        for part in parts[1:]:
            if node is None:
                return None
            node = node["children"].get(part.casefold())
        return node

    # ---- parsing ------------------------------------------------------------------------------------------
    def _problem(self, line_no: int, reason: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((line_no, reason))
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append((line_no, "further problems not listed"))

    def _feed(self, text: str, where: str) -> None:
        start = 0
        while text.startswith("\ufeff", start):
            start += 1
        lines = enumerate(_lines(text, start), 1)
        regedit4, current, seen_header = False, None, False
        for line_no, raw in lines:
            line = raw.strip()
            # a continued line (hex data wrapped by regedit) ends with a backslash
            if line.endswith("\\") and not line.startswith(("[", ";")):
                line = _join_continued(line, (more for _, more in lines))
            if not line or line.startswith(";"):
                continue
            if not seen_header:
                seen_header = True
                if line in ("REGEDIT4", "Windows Registry Editor Version 5.00"):
                    regedit4 = line == "REGEDIT4"
                    continue
                self._problem(line_no, f"{where}missing 'Windows Registry Editor' header")
            problem = None
            if line.startswith("["):
                current, problem = self._key_line(line)
            elif current is None:
                problem = "value outside of a valid key"
            else:
                problem = self._value_line(current, line, regedit4)
            if problem:
                self._problem(line_no, where + problem)

    def _key_line(self, line: str) -> tuple[dict | None, str | None]:
        if not line.endswith("]"):
            return None, f"unterminated key line {line[:60]!r}"
        inner, delete = line[1:-1].strip(), False
        if inner.startswith("-"):
            inner, delete = inner[1:].strip(), True
        try:
            path = normalize_key(inner)
        except ValueError as exc:
            return None, str(exc)[:200]
        parts = path.split("\\")
        if len(parts) > MAX_KEY_DEPTH + 1:
            return None, f"key deeper than {MAX_KEY_DEPTH} levels {line[:60]!r}"
        if delete:
            self._delete_key(parts)
            return None, None
        return self._ensure(parts), None

    def _ensure(self, parts: list[str]) -> dict:
        node = self._hives.setdefault(parts[0], _new_node(parts[0]))
        for part in parts[1:]:
            node = node["children"].setdefault(part.casefold(), _new_node(part))
        return node

    def _delete_key(self, parts: list[str]) -> None:
        if len(parts) == 1:
            self._hives.pop(parts[0], None)
            return
        parent = self._hives.get(parts[0])
        for part in parts[1:-1]:
            if parent is None:
                return
            parent = parent["children"].get(part.casefold())
        if parent is not None:
            parent["children"].pop(parts[-1].casefold(), None)

    def _value_line(self, node: dict, line: str, regedit4: bool) -> str | None:
        if line.startswith("@"):
            name, rest = "", line[1:]
        else:
            m = _QUOTED.match(line)
            if not m:
                return f"unparsable line {line[:60]!r}"
            name, rest = _unescape(m.group(1)), line[m.end():]
        rest = rest.lstrip()
        if not rest.startswith("="):
            return f"missing '=' after value name {name[:60]!r}"
        data, values = rest[1:].strip(), node["values"]
        if data == "-":
            values.pop(name.casefold(), None)
            return None
        value, problem = self._parse_data(data, regedit4)
        if problem:
            return f"value {name[:60]!r}: {problem}"
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
        listed = m.group(2)
        if _BAD_BYTES.search(listed):
            return None, "bad hex byte list"
        try:
            raw = bytes.fromhex(listed.replace(",", " "))  # regedit writes two digits a byte
        except ValueError:
            raw = bytes(int(t.group(), 16) for t in _BYTE.finditer(listed))
        if kind in (1, 2, 7):
            text = decode_ansi(raw) if regedit4 else raw.decode("utf-16-le", errors="replace")
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
