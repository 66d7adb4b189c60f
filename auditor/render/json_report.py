"""The JSON report: the machine-readable source of truth every other format is rendered from.

Written by json's C encoder: the outer levels (the report's members, each finding, each member of a finding,
each coverage source's member) one to a line and indented by two spaces, anything nested deeper on one line (a
finding's title, target, evidence). Python's indenting encoder is pure Python: half a second for a report of
1,000 findings on a busy machine, where this layout takes a quarter of that. Reports written before, indented all
the way (``render_indented``), still verify: ``auditor verify`` accepts either layout of the same content."""

from __future__ import annotations

import json
from typing import Any

INDENTED_LEVELS = 3  # the report, its members, a finding (or a coverage source): below that, one line each
_LINE = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))
_quoted = json.encoder.encode_basestring  # C accelerated, as the encoder writes a key without ensure_ascii


def render(report: dict[str, Any], lang: str = "zh") -> bytes:
    out: list[str] = []
    _write(report, 0, out)
    out.append("\n")
    return "".join(out).encode("utf-8")


def render_indented(report: dict[str, Any], lang: str = "zh") -> bytes:
    """The layout of reports written before (``json.dumps`` indented all the way)."""
    return (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _write(value: Any, level: int, out: list[str]) -> None:
    if level >= INDENTED_LEVELS or not value or not isinstance(value, (dict, list, tuple)) or \
            (isinstance(value, dict) and not all(isinstance(k, str) for k in value)):
        out.append(_LINE.encode(value))  # (a key of another type: written as json writes it, on one line)
        return
    inner = "\n" + "  " * (level + 1)
    if isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            out += ("," if i else "", inner, _quoted(key), ": ")
            if type(item) is str:  # most members: written at once
                out.append(_quoted(item))
            else:
                _write(item, level + 1, out)
        out += ("\n", "  " * level, "}")
    else:
        out.append("[")
        for i, item in enumerate(value):
            out += ("," if i else "", inner)
            _write(item, level + 1, out)
        out += ("\n", "  " * level, "]")
